// The CUDA side of the GPU indexes: device discovery, the brute-force kNN (cuBLAS GEMM and a
// top-k selection on the device) and the detour count of CAGRA's graph optimisation. Built from
// device.cu when the toolchain has CUDA, from device_none.cc otherwise; every call then answers
// kFailedPrecondition, and the indexes build on the CPU (cagra.h). Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/common.h"
#include "vector/gpu/cagra.h"
#include "vector/vector.h"

namespace skyway::vector::gpu {

// Whether a CUDA device can be used (built with CUDA, a driver, at least one device).
bool Available();
// "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90", or why there is none.
std::string Describe();

// Device memory from cudaMalloc, freed with the object.
Result<std::unique_ptr<DeviceVectors>> AllocateVectors(size_t bytes);
// Whether p is device memory (cudaMalloc'ed, or an IPC mapping).
bool IsDevicePointer(const void* p);

// Copies between host and device memory (either direction, by address).
Status Copy(void* dst, const void* src, size_t bytes);
// dst row i = src row rows[i] (rows: host memory, count entries; src and dst device memory).
Status GatherRows(const float* src, const uint32_t* rows, size_t count, size_t dim, float* dst);

// Below these a search costs less on the CPU than its transfer to the device: the batch of a
// CAGRA search, and nq x n of a brute-force one.
size_t MinDeviceSearchBatch();
uint64_t MinDeviceBruteForceWork();

// Device memory free now, in bytes (0 without a device).
uint64_t FreeBytes();

// Device memory a build of n x dim vectors into a graph of k_init neighbours needs, in bytes.
uint64_t KnnGraphBytes(size_t n, size_t dim, size_t k_init);

// A running exact top-k of a block of query rows against base rows given a block at a time:
// the kNN graph, its streamed form (knn_stream.cc) and brute-force search are all this. Ids are
// the input's row numbers. The device implementation takes device memory; the CPU one
// (knn_stream.cc) host memory.
class BlockTopK {
 public:
  virtual ~BlockTopK() = default;
  // Starts nq query rows, the input's rows first.. (for self exclusion). queries outlive Take.
  virtual Status Begin(const float* queries, size_t nq, size_t first) = 0;
  // Merges base rows, the input's rows first..first+nb.
  virtual Status Merge(const float* base, size_t nb, size_t first) = 0;
  // The k best of each query row so far (nq x k, nearest first; 0xFFFFFFFF pads) into ids and,
  // when not null, dist (smaller is closer: L2, or the similarity negated). Host memory (the
  // device implementation also takes device memory).
  virtual Status Take(uint32_t* ids, float* dist) = 0;
};

// A device BlockTopK for up to max_queries query rows and max_base base rows per call.
// exclude_self: a query row never lists itself. Errors: kFailedPrecondition (no device),
// kInternal (CUDA), kInvalidArgument (k over 1024).
Result<std::unique_ptr<BlockTopK>> NewBlockTopK(Metric metric, size_t dim, size_t k,
                                                size_t max_queries, size_t max_base,
                                                bool exclude_self);
// Device memory NewBlockTopK allocates, in bytes.
uint64_t BlockTopKBytes(size_t dim, size_t k, size_t max_queries, size_t max_base);

// Each row's k nearest other rows (n x k, nearest first), exact: the distances come from cuBLAS
// GEMMs over tiles of rows, a top-k selection keeps the best per row. vectors may be host or
// device memory (cudaMemcpyDefault). Errors: kFailedPrecondition (no device), kResourceExhausted (does
// not fit; the message says how much it needs), kInternal (CUDA errors).
Result<std::vector<uint32_t>> KnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                       size_t k);

// CAGRA's rank-based reordering on the device; the same answer as cagra::PruneByDetours. knn:
// host or device memory.
Result<std::vector<uint32_t>> PruneByDetours(const uint32_t* knn, size_t n, size_t k_init,
                                             size_t degree);

// The largest k the device's top-k selection keeps (kNN graphs, GPU_BRUTE_FORCE).
constexpr size_t kMaxDeviceTopK = 1024;

// Exact top-k of nq queries against n rows, on the device (GPU_BRUTE_FORCE). Scores as
// vector.h says. REQUIRES (else kInvalidArgument): min(k, n) <= kMaxDeviceTopK.
Result<std::vector<std::vector<Hit>>> BruteForce(Metric metric, const float* vectors, size_t n,
                                                 size_t dim, const float* queries, size_t nq,
                                                 size_t k);

// CAGRA's search on the device, a batch of queries at once: one block per query keeps its
// internal top-itopk list in shared memory, expands the best search_width unexplored nodes per
// iteration (every edge scored by a warp), marks visited rows in a per-query bitmap, and stops
// when the list has nothing unexplored. The graph's arrays (graph, vectors, entries,
// entry_vectors) may be host or device memory; inv_norms, entry_graph and entry_degree are not
// read. COSINE: as the CPU search (query normalized here, rows scaled by their inverse norms). No
// filter (the caller searches filtered queries on the CPU). The list, the seeds (the entry points,
// then cagra::DefaultRandomSeeds random rows) and the iteration bound (2 list / width + 16) are
// the CPU search's, but the random rows are drawn from a different stream. Entry points that take
// more than one round of candidates to score (m - itopk of them, m = pow2(itopk + search_width x
// degree)) are not all scored: with entry_vectors, each query starts from that many of its
// nearest entries (at most kMaxDeviceTopK), chosen by one BruteForce over the entries' rows
// (where the CPU search walks the entry graph). Errors as KnnGraph; kInvalidArgument for dim > 4096 or itopk > 512.
Result<std::vector<std::vector<Hit>>> CagraSearch(Metric metric, const cagra::GraphView& graph,
                                                  const float* queries, size_t nq, size_t k,
                                                  size_t itopk, size_t search_width,
                                                  size_t max_iterations, uint64_t seed);

}  // namespace skyway::vector::gpu
