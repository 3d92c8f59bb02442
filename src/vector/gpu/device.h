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

// Device memory a build of n x dim vectors into a graph of k_init neighbours needs, in bytes.
uint64_t KnnGraphBytes(size_t n, size_t dim, size_t k_init);

// Each row's k nearest other rows (n x k, nearest first), exact: the distances come from cuBLAS
// GEMMs over tiles of rows, a top-k selection keeps the best per row. vectors may be host or
// device memory (cudaMemcpyDefault). Errors: kFailedPrecondition (no device), kResourceExhausted (does
// not fit; the message says how much it needs), kInternal (CUDA errors).
Result<std::vector<uint32_t>> KnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                       size_t k);

// CAGRA's rank-based reordering on the device; the same answer as cagra::PruneByDetours.
Result<std::vector<uint32_t>> PruneByDetours(const uint32_t* knn, size_t n, size_t k_init,
                                             size_t degree);

// Exact top-k of nq queries against n rows, on the device (GPU_BRUTE_FORCE). Scores as
// vector.h says.
Result<std::vector<std::vector<Hit>>> BruteForce(Metric metric, const float* vectors, size_t n,
                                                 size_t dim, const float* queries, size_t nq,
                                                 size_t k);

// CAGRA's search on the device, a batch of queries at once: one block per query keeps its
// internal top-itopk list in shared memory, expands the best search_width unexplored nodes per
// iteration (every edge scored by a warp), marks visited rows in a per-query bitmap, and stops
// when the list has nothing unexplored. graph: n x degree (host or device). COSINE: as the CPU
// search (query normalized here, rows scaled by their inverse norms). No filter (the caller
// searches filtered queries on the CPU). Errors as KnnGraph; kInvalidArgument for dim > 4096 or
// itopk > 512.
Result<std::vector<std::vector<Hit>>> CagraSearch(Metric metric, const uint32_t* graph, size_t n,
                                                  size_t degree, const float* vectors, size_t dim,
                                                  const float* queries, size_t nq, size_t k,
                                                  size_t itopk, size_t search_width,
                                                  size_t max_iterations, uint64_t seed);

}  // namespace skyway::vector::gpu
