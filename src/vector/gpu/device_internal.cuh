// Shared by the CUDA translation units of the GPU indexes (device.cu: exact top-k, kNN graph,
// detour pruning; device_search.cu: CAGRA search): error macros, device arrays, the block-wide
// bitonic sort and the row-norm kernel. Private to src/vector/gpu.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/common.h"
#include "vector/gpu/device.h"

namespace skyway::vector::gpu {

constexpr float kInf = 3.402823466e+38F;
constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr int kThreads = 256;

#define CUDA_OR_RETURN(expr)                                                                     \
  do {                                                                                           \
    cudaError_t err_ = (expr);                                                                   \
    if (err_ != cudaSuccess) {                                                                   \
      return Status::Internal(std::string("CUDA: ") + #expr + ": " + cudaGetErrorString(err_)); \
    }                                                                                            \
  } while (0)

#define CUBLAS_OR_RETURN(expr)                                                              \
  do {                                                                                      \
    cublasStatus_t st_ = (expr);                                                            \
    if (st_ != CUBLAS_STATUS_SUCCESS) {                                                     \
      return Status::Internal(std::string("cuBLAS: ") + #expr + " failed (" +              \
                              std::to_string(static_cast<int>(st_)) + ")");                 \
    }                                                                                       \
  } while (0)

// Device memory freed on scope exit.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  Status Allocate(size_t count) {
    CUDA_OR_RETURN(cudaMalloc(reinterpret_cast<void**>(&ptr_), std::max<size_t>(count, 1) * sizeof(T)));
    return Status::Ok();
  }
  T* get() const { return ptr_; }

 private:
  T* ptr_ = nullptr;
};

inline size_t NextPow2(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

enum MetricCode : int { kL2 = 0, kIP = 1, kCos = 2 };
inline int CodeOf(Metric m) { return m == Metric::kL2 ? kL2 : m == Metric::kIP ? kIP : kCos; }


static __global__ void RowNorms(const float* v, size_t n, size_t dim, int metric, float* out) {
  for (size_t row = blockIdx.x * blockDim.x + threadIdx.x; row < n; row += gridDim.x * blockDim.x) {
    const float* x = v + row * dim;
    float s = 0;
    for (size_t i = 0; i < dim; ++i) s += x[i] * x[i];
    out[row] = metric == kL2 ? s : (s > 0 ? rsqrtf(s) : 0.0F);
  }
}

inline __device__ bool Before(float da, uint32_t ia, float db, uint32_t ib) {
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


// vectors on the device: the caller's when they already are, else a copy.
class DeviceRows {
 public:
  Status From(const float* host_or_device, size_t count) {
    cudaPointerAttributes attr{};
    if (cudaPointerGetAttributes(&attr, host_or_device) == cudaSuccess &&
        attr.type == cudaMemoryTypeDevice) {
      ptr_ = host_or_device;
      return Status::Ok();
    }
    cudaGetLastError();  // clear a failed query of an unregistered host pointer
    RETURN_IF_ERROR(copy_.Allocate(count));
    CUDA_OR_RETURN(cudaMemcpy(copy_.get(), host_or_device, count * sizeof(float), cudaMemcpyDefault));
    ptr_ = copy_.get();
    return Status::Ok();
  }
  const float* get() const { return ptr_; }

 private:
  const float* ptr_ = nullptr;
  DeviceArray<float> copy_;
};

inline Status NoDevice() { return Status(Code::kFailedPrecondition, "", "no CUDA device: " + Describe()); }

inline int GridFor(size_t count) {
  return static_cast<int>(std::min<size_t>(65535, std::max<size_t>(1, (count + kThreads - 1) / kThreads)));
}

}  // namespace skyway::vector::gpu
