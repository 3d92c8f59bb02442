// An approximate kNN graph by NN-descent (Dong, Charikar and Li, WWW 2011): each row starts with
// k random neighbours, and each round improves every list with neighbours' neighbours: a row
// joins its sampled new neighbours (its own and those that list it) with each other and with its
// old ones, and a pair closer than one member's worst neighbour enters that member's list. It
// stops when a round changes fewer than delta x n x k entries. On the CPU, all cores. The cost
// follows n x candidates^2, not n^2: the CPU build's graph beyond the exact one's budget, where
// the clustered graph (knn_clustered.h) costs up to half of n^2 on data whose neighbours span
// many clusters. Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector/vector.h"

namespace skyway::vector::internal {

struct DescentParams {
  size_t candidates = 0;  // new (and old) neighbours a row joins per round, its own and reverse
                          // ones together; 0: min(k, 32)
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
// ExactKnnGraph: L2, or the similarity (COSINE: of directions). Which pairs a round tries is
// fixed by the seed; threads racing to update a list may keep a different one of two equally
// good candidates, so two builds can differ slightly. REQUIRES: 1 <= k < n. vectors: host memory.
std::vector<uint32_t> NnDescentKnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                        size_t k, const DescentParams& params, DescentStats* stats);

}  // namespace skyway::vector::internal
