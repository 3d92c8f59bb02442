// Device code shared by the GPU kernels, written so that it also compiles as plain C++ under the
// CPU emulation of tests/vector/cuda_emu.h: kernels_test runs every kernel there against the CPU
// reference, since CI has no GPU. Private to src/vector/gpu; everything here is internal to the
// including translation unit (a kernel needs one definition per .cu without relocatable code).
#pragma once

#include <cstddef>
#include <cstdint>

// The block's dynamic shared memory as `type* name`.
#ifdef SKYWAY_CUDA_EMULATION
#define SKYWAY_DYNAMIC_SHARED(type, name) \
  type* name = reinterpret_cast<type*>(::cuda_emu::DynamicShared())
#else
#define SKYWAY_DYNAMIC_SHARED(type, name)          \
  extern __shared__ unsigned char name##_bytes_[]; \
  type* name = reinterpret_cast<type*>(name##_bytes_)
#endif

// kernel<<<grid, block, shared>>>(args...); the emulated runtime of gpu_emu_test defines its own.
#ifndef SKYWAY_LAUNCH
#define SKYWAY_LAUNCH(kernel, grid, block, shared, ...) kernel<<<grid, block, shared>>>(__VA_ARGS__)
#endif

namespace skyway::vector::gpu {
namespace {  // NOLINT(build/namespaces): see above

constexpr float kInf = 3.402823466e+38F;
constexpr uint32_t kNone = 0xFFFFFFFFu;

enum MetricCode : int { kL2 = 0, kIP = 1, kCos = 2 };

// Per row: squared norm (L2) or inverse norm (COSINE).
__global__ void RowNorms(const float* v, size_t n, size_t dim, int metric, float* out) {
  for (size_t row = blockIdx.x * blockDim.x + threadIdx.x; row < n; row += gridDim.x * blockDim.x) {
    const float* x = v + row * dim;
    float s = 0;
    for (size_t i = 0; i < dim; ++i) s += x[i] * x[i];
    out[row] = metric == kL2 ? s : (s > 0 ? rsqrtf(s) : 0.0F);
  }
}

__device__ bool Before(float da, uint32_t ia, float db, uint32_t ib) {
  return da < db || (da == db && ia < ib);
}

// A block-wide bitonic sort of m (a power of two) entries in shared memory, ascending by
// order.Greater(a, b) (entry a belongs after entry b); order.Swap(a, b) exchanges them.
template <typename Order>
__device__ void BitonicSort(Order order, int m) {
  for (int size = 2; size <= m; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      for (int t = threadIdx.x; t < m / 2; t += blockDim.x) {
        const int lo = 2 * stride * (t / stride) + (t % stride);
        const int hi = lo + stride;
        if (order.Greater(lo, hi) == ((lo & size) == 0)) order.Swap(lo, hi);
      }
    }
  }
  __syncthreads();
}

struct ByDistanceThenId {  // (distance, id) pairs
  float* d;
  uint32_t* id;
  __device__ bool Greater(int a, int b) const { return Before(d[b], id[b], d[a], id[a]); }
  __device__ void Swap(int a, int b) const {
    const float td = d[a];
    d[a] = d[b];
    d[b] = td;
    const uint32_t ti = id[a];
    id[a] = id[b];
    id[b] = ti;
  }
};

struct ByKey {
  uint32_t* key;
  __device__ bool Greater(int a, int b) const { return key[b] < key[a]; }
  __device__ void Swap(int a, int b) const {
    const uint32_t t = key[a];
    key[a] = key[b];
    key[b] = t;
  }
};



}  // namespace
}  // namespace skyway::vector::gpu
