// Kernels of CAGRA search (device_search.cu launches them).
// Device code only: it compiles under nvcc and, for kernels_test, as plain C++ under the CPU
// emulation of tests/vector/cuda_emu.h. Private to src/vector/gpu.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vector/gpu/kernels_common.cuh"

namespace skyway::vector::gpu {
namespace {  // NOLINT(build/namespaces): one copy per translation unit, as kernels must be

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

// Dynamic shared memory per block.
constexpr size_t CagraSearchSharedBytes(size_t dim, size_t m) {
  return dim * sizeof(float) + m * (sizeof(float) + sizeof(uint32_t));
}

// One block per query. Shared: the query, and m = pow2(itopk + width * degree) (distance, id)
// pairs: [0, itopk) the sorted list (id's top bit: explored), [itopk, m) this round's candidates.
// Entry points: num_entries rows for every query (entry_stride 0), or the block's own at
// entries + blockIdx.x x entry_stride (kNone: none).
__global__ void CagraSearchKernel(const uint32_t* graph, uint32_t n, int degree,
                                  const uint32_t* entries, int num_entries, int entry_stride,
                                  const float* vectors, const float* inv_norms, size_t dim,
                                  int metric, const float* queries, int itopk, int width,
                                  int max_iterations, int seeds, uint64_t seed, size_t query_base, int m,
                                  uint32_t* visited, size_t visited_words, int k,
                                  uint32_t* out_i, float* out_d) {
  SKYWAY_DYNAMIC_SHARED(unsigned char, smem);
  float* query = reinterpret_cast<float*>(smem);
  float* d = query + dim;
  uint32_t* id = reinterpret_cast<uint32_t*>(d + m);
  __shared__ uint32_t parents[64];
  __shared__ int parent_count;
  const int q = blockIdx.x;
  uint32_t* seen = visited + static_cast<size_t>(q) * visited_words;
  const uint32_t* own_entries = entries + static_cast<size_t>(q) * entry_stride;
  for (size_t i = threadIdx.x; i < dim; i += blockDim.x) query[i] = queries[static_cast<size_t>(q) * dim + i];
  for (int t = threadIdx.x; t < m; t += blockDim.x) {
    d[t] = kInf;
    id[t] = kNone;
  }
  __syncthreads();
  // Seeds, the entry points then `seeds` random rows, a round of (m - itopk) at a time, each
  // merged into the list.
  const int room = m - itopk;
  for (int first = 0; first < num_entries + seeds; first += room) {
    for (int t = threadIdx.x; t < room; t += blockDim.x) {
      const int c = first + t;
      uint32_t row = kNone;
      if (c < num_entries) {
        if (own_entries[c] != kNone) row = FirstVisit(seen, own_entries[c]);
      } else if (c < num_entries + seeds) {
        const uint64_t r = MixSeed(seed + (query_base + q) * 1000003u + (c - num_entries));
        row = FirstVisit(seen, static_cast<uint32_t>(r % n));
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
}  // namespace skyway::vector::gpu
