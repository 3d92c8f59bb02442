// CAGRA search on the GPU (see device.h): one block per query keeps its sorted candidate list and
// this round's candidates in shared memory; each round takes the best `width` unexplored entries
// as parents, scores their graph neighbours not yet visited (a warp per candidate, a bitmap of
// visited rows per query) and merges them with a bitonic sort. Seeds are random rows, drawn from
// the query's global index so a batch split does not change the answer.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vector/gpu/device.h"
#include "vector/gpu/device_internal.cuh"
#include "vector/internal.h"

namespace skyway::vector::gpu {
namespace {

constexpr int kSearchThreads = 256;
constexpr size_t kMaxSearchDim = 4096;
constexpr size_t kMaxItopk = 512;

__device__ uint64_t MixSeed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Scores the candidate ids in cand_i[0..count) (kNone: skip) into cand_d, a warp per candidate.
__device__ void ScoreCandidates(const float* vectors, const float* inv_norms, size_t dim,
                                int metric, const float* query, const uint32_t* cand_i,
                                float* cand_d, int count) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int c = warp; c < count; c += warps) {
    const uint32_t row = cand_i[c];
    float acc = 0;
    if (row != kNone) {
      const float* x = vectors + static_cast<size_t>(row) * dim;
      for (size_t i = lane; i < dim; i += 32) {
        const float v = x[i];
        acc += metric == kL2 ? (v - query[i]) * (v - query[i]) : v * query[i];
      }
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xFFFFFFFFu, acc, off);
    if (lane == 0) {
      cand_d[c] = row == kNone ? kInf
                  : metric == kL2 ? acc
                  : metric == kIP ? -acc
                                  : -acc * inv_norms[row];
    }
  }
  __syncthreads();
}

// row, or kNone when this query's walk has reached it before (then marks it).
__device__ uint32_t FirstVisit(uint32_t* seen, uint32_t row) {
  const uint32_t bit = 1u << (row & 31);
  return (atomicOr(&seen[row >> 5], bit) & bit) ? kNone : row;
}

// One block per query. Shared: the query, and m = pow2(itopk + width * degree) (distance, id)
// pairs: [0, itopk) the sorted list (id's top bit: explored), [itopk, m) this round's candidates.
__global__ void CagraSearchKernel(const uint32_t* graph, uint32_t n, int degree,
                                  const float* vectors, const float* inv_norms, size_t dim,
                                  int metric, const float* queries, int itopk, int width,
                                  int max_iterations, int seeds, uint64_t seed, size_t query_base, int m,
                                  uint32_t* visited, size_t visited_words, int k,
                                  uint32_t* out_i, float* out_d) {
  extern __shared__ unsigned char smem[];
  float* query = reinterpret_cast<float*>(smem);
  float* d = query + dim;
  uint32_t* id = reinterpret_cast<uint32_t*>(d + m);
  __shared__ uint32_t parents[64];
  __shared__ int parent_count;
  const int q = blockIdx.x;
  uint32_t* seen = visited + static_cast<size_t>(q) * visited_words;
  for (size_t i = threadIdx.x; i < dim; i += blockDim.x) query[i] = queries[static_cast<size_t>(q) * dim + i];
  for (int t = threadIdx.x; t < m; t += blockDim.x) {
    d[t] = kInf;
    id[t] = kNone;
  }
  __syncthreads();
  // Seeds, a round of (m - itopk) at a time, each merged into the list.
  const int room = m - itopk;
  for (int first = 0; first < seeds; first += room) {
    for (int t = threadIdx.x; t < room; t += blockDim.x) {
      uint32_t row = kNone;
      if (first + t < seeds) {
        row = FirstVisit(seen, static_cast<uint32_t>(
                                   MixSeed(seed + (query_base + q) * 1000003u + first + t) % n));
      }
      id[itopk + t] = row;
    }
    __syncthreads();
    ScoreCandidates(vectors, inv_norms, dim, metric, query, id + itopk, d + itopk, room);
    BitonicSort(ByDistanceThenId{d, id}, m);
  }
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    if (threadIdx.x == 0) {  // the best `width` unexplored entries
      parent_count = 0;
      for (int t = 0; t < itopk && parent_count < width; ++t) {
        if (id[t] == kNone || (id[t] & 0x80000000u)) continue;
        parents[parent_count++] = id[t];
        id[t] |= 0x80000000u;
      }
    }
    __syncthreads();
    if (parent_count == 0) break;
    for (int t = threadIdx.x; t < room; t += blockDim.x) {
      uint32_t row = kNone;
      const int p = t / degree;
      if (p < parent_count) row = FirstVisit(seen, graph[static_cast<size_t>(parents[p]) * degree + t % degree]);
      id[itopk + t] = row;
    }
    __syncthreads();
    ScoreCandidates(vectors, inv_norms, dim, metric, query, id + itopk, d + itopk, room);
    // Explored marks would disturb the id tie-break only among equal distances; sort with them.
    BitonicSort(ByDistanceThenId{d, id}, m);
  }
  for (int t = threadIdx.x; t < k; t += blockDim.x) {
    const uint32_t row = id[t];
    out_i[static_cast<size_t>(q) * k + t] = row == kNone ? kNone : (row & 0x7FFFFFFFu);
    out_d[static_cast<size_t>(q) * k + t] = d[t];
  }
}

}  // namespace

Result<std::vector<std::vector<Hit>>> CagraSearch(Metric metric, const uint32_t* graph, size_t n,
                                                  size_t degree, const float* vectors, size_t dim,
                                                  const float* queries, size_t nq, size_t k,
                                                  size_t itopk, size_t search_width,
                                                  size_t max_iterations, uint64_t seed) {
  if (!Available()) return NoDevice();
  std::vector<std::vector<Hit>> results(nq);
  if (n == 0 || nq == 0 || k == 0 || degree == 0) return results;
  const size_t list = NextPow2(std::max(itopk, k));
  const size_t width = std::min<size_t>(std::max<size_t>(search_width, 1), 64);
  if (dim > kMaxSearchDim || list > kMaxItopk || n >= 0x80000000u) {
    return Status::Invalid("GPU CAGRA search: dim <= 4096, itopk <= 512 and n < 2^31 only");
  }
  const size_t m = NextPow2(list + width * degree);
  // The list and this round's candidates live in shared memory: refuse before copying anything
  // when they cannot (the caller then searches on the CPU).
  const size_t shared = dim * sizeof(float) + m * (sizeof(float) + sizeof(uint32_t));
  int shared_optin = 0;
  CUDA_OR_RETURN(cudaDeviceGetAttribute(&shared_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  cudaFuncAttributes attributes{};
  CUDA_OR_RETURN(cudaFuncGetAttributes(&attributes, CagraSearchKernel));
  if (shared + attributes.sharedSizeBytes > static_cast<size_t>(shared_optin)) {
    return Status::Invalid("GPU CAGRA search: itopk + search_width x graph_degree needs " +
                           std::to_string(shared >> 10) + " KiB of shared memory, the device has " +
                           std::to_string(shared_optin >> 10) + " KiB");
  }
  CUDA_OR_RETURN(cudaFuncSetAttribute(CagraSearchKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(shared)));
  const size_t iterations = max_iterations > 0 ? max_iterations : 2 * (list / width) + 16;
  const size_t seeds = std::min(n, std::max(width * degree, 4 * list));
  const size_t words = (n + 31) / 32;
  const size_t batch = std::max<size_t>(1, std::min<size_t>(nq, (size_t{1} << 30) / (words * 4)));
  const int metric_code = CodeOf(metric);
  DeviceRows base, q_rows;
  RETURN_IF_ERROR(base.From(vectors, n * dim));
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {  // as the CPU search: the query normalized
    normalized = internal::NormalizedCopy(queries, nq, dim);
    queries = normalized.data();
  }
  RETURN_IF_ERROR(q_rows.From(queries, nq * dim));
  DeviceArray<uint32_t> dev_graph, visited, out_i;
  DeviceArray<float> inv_norms, out_d;
  const uint32_t* graph_on_device = graph;
  if (!IsDevicePointer(graph)) {
    RETURN_IF_ERROR(dev_graph.Allocate(n * degree));
    CUDA_OR_RETURN(cudaMemcpy(dev_graph.get(), graph, n * degree * sizeof(uint32_t), cudaMemcpyHostToDevice));
    graph_on_device = dev_graph.get();
  }
  RETURN_IF_ERROR(inv_norms.Allocate(n));
  if (metric == Metric::kCosine) {
    const int grid = static_cast<int>(std::min<size_t>(65535, (n + kThreads - 1) / kThreads));
    RowNorms<<<grid, kThreads>>>(base.get(), n, dim, metric_code, inv_norms.get());
  }
  RETURN_IF_ERROR(visited.Allocate(batch * words));
  RETURN_IF_ERROR(out_i.Allocate(batch * k));
  RETURN_IF_ERROR(out_d.Allocate(batch * k));
  std::vector<uint32_t> ids(batch * k);
  std::vector<float> dist(batch * k);
  for (size_t q0 = 0; q0 < nq; q0 += batch) {
    const size_t count = std::min(batch, nq - q0);
    CUDA_OR_RETURN(cudaMemset(visited.get(), 0, count * words * sizeof(uint32_t)));
    CagraSearchKernel<<<static_cast<unsigned>(count), kSearchThreads, shared>>>(
        graph_on_device, static_cast<uint32_t>(n), static_cast<int>(degree), base.get(),
        inv_norms.get(), dim, metric_code, q_rows.get() + q0 * dim, static_cast<int>(list),
        static_cast<int>(width), static_cast<int>(iterations), static_cast<int>(seeds), seed, q0,
        static_cast<int>(m), visited.get(), words, static_cast<int>(k), out_i.get(), out_d.get());
    CUDA_OR_RETURN(cudaGetLastError());
    CUDA_OR_RETURN(cudaMemcpy(ids.data(), out_i.get(), count * k * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    CUDA_OR_RETURN(cudaMemcpy(dist.data(), out_d.get(), count * k * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < count; ++i) {
      for (size_t e = 0; e < k; ++e) {
        const uint32_t row = ids[i * k + e];
        if (row == kNone) break;
        const float dd = dist[i * k + e];
        results[q0 + i].push_back({static_cast<int64_t>(row), metric == Metric::kL2 ? dd : -dd});
      }
    }
  }
  return results;
}
}  // namespace skyway::vector::gpu
