// An approximate kNN graph by NN-descent (Dong, Charikar and Li, WWW 2011): each row starts with
// k random neighbours, and each round improves every list with neighbours' neighbours: a row
// joins its sampled new neighbours (its own and those that list it) with each other and with its
// old ones, and a pair closer than one member's worst neighbour enters that member's list. It
// stops when a round changes at most delta x n x k entries. On the CPU, all cores. The cost
// follows n x candidates^2, not n^2: the CPU build's graph beyond the exact one's budget, where
// the clustered graph (knn_clustered.h) costs up to half of n^2 on data whose neighbours span
// many clusters. Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/common.h"
#include "vector/vector.h"

namespace skyway::vector::internal {

struct DescentParams {
  size_t candidates = 0;  // a round's sample per row: this many of its new entries, as many of
                          // its old ones, and as many rows listing each (so up to twice this
                          // many new, and old, rows to join); 0: min(k, 32)
  int max_iterations = 20;
  double delta = 0.001;
  uint64_t seed = 0x5EED;
};

struct DescentStats {
  int iterations = 0;
  uint64_t distances = 0;    // computed in all (the random start's included)
  uint64_t last_updates = 0;  // list entries the last round changed
};

// Each row's k nearest other rows (n x k, nearest first, ties by row), approximately. Scores as
// ExactKnnGraph: L2, or the similarity (COSINE: of directions). The graph is fixed by the seed,
// whatever the number of threads: each round's list is the best k, by (distance, row), of what it
// held and was offered, in whatever order the offers came. With n <= 4k it is the exact graph
// (random distinct neighbours would be most of the rows). Errors: kInvalidArgument for a row
// with a component that is not finite. REQUIRES: 1 <= k < n. vectors: host memory.
Result<std::vector<uint32_t>> NnDescentKnnGraph(Metric metric, const float* vectors, size_t n,
                                                size_t dim, size_t k, const DescentParams& params,
                                                DescentStats* stats);

}  // namespace skyway::vector::internal
