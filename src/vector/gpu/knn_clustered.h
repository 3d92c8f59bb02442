// An approximate kNN graph by clusters (the batched-IVF construction CAGRA's paper builds with):
// k-means on a sample, the rows reordered so that each cluster is contiguous, then each
// cluster's rows merged exactly against every cluster its rows probe (each row's own `probes`
// nearest centroids, as an IVF search would). Cost about n * (the union's rows) distances instead
// of n^2. Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector/vector.h"

namespace skyway::vector::internal {

struct ClusterParams {
  size_t clusters = 0;  // 0: about sqrt(n), in [16, 4096]
  size_t probes = 0;    // nearest centroids each row probes (its own included); 0: 8
  size_t sample = 0;    // k-means training rows; 0: 64 per cluster
  int iterations = 10;  // Lloyd iterations
  uint64_t seed = 0x5EED;
};

struct ClusterStats {
  size_t clusters = 0, probes = 0, largest = 0;
  uint64_t pairs = 0;  // distances computed for the graph
};

// Each row's k nearest other rows (n x k, nearest first), approximately, on the GPU when
// `device` (vectors host or device memory) or the CPU (host memory). The k-means uses L2 (COSINE:
// cosine); the graph the index metric. Every row gets k distinct neighbours: a cluster probes
// the clusters nearest its centroid too while the probed rows are k or fewer. REQUIRES: 1 <= k < n.
Result<std::vector<uint32_t>> ClusteredKnnGraph(Metric metric, const float* vectors, size_t n,
                                                size_t dim, size_t k, const ClusterParams& params,
                                                bool device, ClusterStats* stats);

}  // namespace skyway::vector::internal
