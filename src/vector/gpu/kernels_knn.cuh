// Kernels of the exact kNN (top-k selection over GEMM tiles, row gathers) and of CAGRA's detour pruning; device.cu launches them.
// Device code only: it compiles under nvcc and, for kernels_test, as plain C++ under the CPU
// emulation of tests/vector/cuda_emu.h. Private to src/vector/gpu.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vector/gpu/kernels_common.cuh"

namespace skyway::vector::gpu {
namespace {  // NOLINT(build/namespaces): one copy per translation unit, as kernels must be

// Dynamic shared memory per block.
constexpr size_t SelectTopKSharedBytes(size_t k2) { return 2 * k2 * (sizeof(float) + sizeof(uint32_t)); }

// dots: tq x tc row-major (query row, base column). Merges the tile into each query row's
// running top (tq x k2, ascending). base_norm and query_norm point at the tile's first column and
// row; base_id and query_id are their row numbers in the input (ids, self exclusion).
//
// Shared: the top in [0, k2), a buffer of candidates in [k2, 2 k2). The block scans blockDim
// columns a step; a column better than the current k2-th claims a buffer slot; a full buffer is
// sorted into the top (its worse half dropped) and the step's remaining candidates are tested
// again against the new k2-th. After the first tiles almost nothing passes, and a step costs one
// barrier whatever k is.
__global__ void SelectTopK(const float* dots, int tq, int tc, const float* base_norm,
                           uint32_t base_id, const float* query_norm, uint32_t query_id,
                           int metric, bool exclude_self, float* top_d, uint32_t* top_i, int k2) {
  SKYWAY_DYNAMIC_SHARED(unsigned char, smem);
  __shared__ int buffered;
  float* sd = reinterpret_cast<float*>(smem);
  uint32_t* si = reinterpret_cast<uint32_t*>(sd + 2 * k2);
  const int row = blockIdx.x;
  if (row >= tq) return;
  const float* in = dots + static_cast<size_t>(row) * tc;
  const uint32_t query = query_id + static_cast<uint32_t>(row);
  const float qn = query_norm != nullptr ? query_norm[row] : 0.0F;
  for (int t = threadIdx.x; t < k2; t += blockDim.x) {
    sd[t] = top_d[static_cast<size_t>(row) * k2 + t];
    si[t] = top_i[static_cast<size_t>(row) * k2 + t];
  }
  if (threadIdx.x == 0) buffered = 0;
  __syncthreads();
  for (int start = 0; start < tc; start += blockDim.x) {
    const int j = start + threadIdx.x;
    float dist = kInf;
    uint32_t id = kNone;
    if (j < tc) {
      const float dot = in[j];
      if (metric == kL2) {
        dist = fmaxf(base_norm[j] + qn - 2.0F * dot, 0.0F);
      } else if (metric == kIP) {
        dist = -dot;
      } else {
        dist = -dot * base_norm[j] * qn;
      }
      id = base_id + static_cast<uint32_t>(j);
      if (exclude_self && id == query) {
        dist = kInf;
        id = kNone;
      }
    }
    bool pending = Before(dist, id, sd[k2 - 1], si[k2 - 1]);
    for (;;) {
      if (pending) {
        const int slot = atomicAdd(&buffered, 1);
        if (slot < k2) {
          sd[k2 + slot] = dist;
          si[k2 + slot] = id;
          pending = false;
        }
      }
      // Every slot was claimed when a candidate is left over: merge the buffer and retry.
      if (!__syncthreads_or(pending)) break;
      BitonicSort(ByDistanceThenId{sd, si}, 2 * k2);
      if (threadIdx.x == 0) buffered = 0;
      __syncthreads();
      pending = pending && Before(dist, id, sd[k2 - 1], si[k2 - 1]);
    }
  }
  __syncthreads();
  const int left = min(buffered, k2);  // the last step's barrier made it final
  if (left > 0) {
    for (int t = left + threadIdx.x; t < k2; t += blockDim.x) {
      sd[k2 + t] = kInf;
      si[k2 + t] = kNone;
    }
    BitonicSort(ByDistanceThenId{sd, si}, 2 * k2);
  }
  for (int t = threadIdx.x; t < k2; t += blockDim.x) {
    top_d[static_cast<size_t>(row) * k2 + t] = sd[t];
    top_i[static_cast<size_t>(row) * k2 + t] = si[t];
  }
}

__global__ void Gather(const float* src, const uint32_t* rows, size_t count, size_t dim, float* dst) {
  const size_t total = count * dim;
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    dst[i] = src[static_cast<size_t>(rows[i / dim]) * dim + i % dim];
  }
}

__global__ void FillTop(float* d, uint32_t* id, size_t count) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
    d[i] = kInf;
    id[i] = kNone;
  }
}

__device__ uint32_t HashSlot(uint32_t v, uint32_t mask) { return (v * 2654435761u) & mask; }

// Dynamic shared memory per block.
constexpr size_t DetourPruneSharedBytes(size_t k, size_t k2, size_t table) {
  return (2 * table + 2 * k + k2) * sizeof(uint32_t);
}

// One block per row x: counts detours of x's k edges and writes the `degree` with the fewest
// (ties by rank). Shared: hash keys and ranks (table), the list, the counts, the sort keys.
__global__ void DetourPrune(const uint32_t* knn, uint32_t n, int k, int degree, int table, int k2,
                            uint32_t* out) {
  SKYWAY_DYNAMIC_SHARED(uint32_t, s);
  uint32_t* hkey = s;
  uint32_t* hval = hkey + table;
  uint32_t* list = hval + table;
  uint32_t* det = list + k;
  uint32_t* keys = det + k;
  const uint32_t mask = static_cast<uint32_t>(table - 1);
  for (uint32_t x = blockIdx.x; x < n; x += gridDim.x) {
    for (int t = threadIdx.x; t < table; t += blockDim.x) {
      hkey[t] = kNone;
      hval[t] = kNone;
    }
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
      list[t] = knn[static_cast<size_t>(x) * k + t];
      det[t] = 0;
    }
    __syncthreads();
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
      const uint32_t y = list[t];
      uint32_t h = HashSlot(y, mask);
      for (;;) {
        const uint32_t prev = atomicCAS(&hkey[h], kNone, y);
        if (prev == kNone || prev == y) {
          atomicMin(&hval[h], static_cast<uint32_t>(t));
          break;
        }
        h = (h + 1) & mask;
      }
    }
    __syncthreads();
    const int pairs = k * k;
    for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
      const int i = p / k, r = p % k;
      const uint32_t y = knn[static_cast<size_t>(list[i]) * k + r];
      uint32_t h = HashSlot(y, mask);
      while (hkey[h] != kNone) {
        if (hkey[h] == y) {
          const uint32_t j = hval[h];
          if (static_cast<uint32_t>(max(i, r)) < j) atomicAdd(&det[j], 1u);
          break;
        }
        h = (h + 1) & mask;
      }
    }
    __syncthreads();
    for (int t = threadIdx.x; t < k2; t += blockDim.x) keys[t] = t < k ? det[t] * 2048u + t : kNone;
    BitonicSort(ByKey{keys}, k2);
    for (int e = threadIdx.x; e < degree; e += blockDim.x) {
      out[static_cast<size_t>(x) * degree + e] = list[keys[e] & 2047u];
    }
    __syncthreads();
  }
}

}  // namespace
}  // namespace skyway::vector::gpu
