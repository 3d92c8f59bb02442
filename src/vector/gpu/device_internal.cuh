// Host-side helpers shared by the CUDA translation units of the GPU indexes (device.cu: exact
// top-k, kNN graph, detour pruning; device_search.cu: CAGRA search): error macros, device arrays,
// device copies of rows. Private to src/vector/gpu.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/common.h"
#include "vector/gpu/device.h"
#include "vector/gpu/kernels_common.cuh"

namespace skyway::vector::gpu {

#ifdef SKYWAY_CUDA_EMULATION
constexpr int kThreads = 32;  // emulated threads are fibers; every kernel loops over blockDim
#else
constexpr int kThreads = 256;
#endif

// A failed call's error is also cleared from the thread's last error (else the next launch check
// would report it again); out of memory is kResourceExhausted, which the callers answer by
// streaming or by searching on the CPU.
inline Status CudaStatus(const char* expr, cudaError_t err) {
  cudaGetLastError();
  std::string message = std::string("CUDA: ") + expr + ": " + cudaGetErrorString(err);
  if (err == cudaErrorMemoryAllocation) return Status(Code::kResourceExhausted, "", message);
  return Status::Internal(message);
}

#define CUDA_OR_RETURN(expr)                                  \
  do {                                                        \
    cudaError_t err_ = (expr);                                \
    if (err_ != cudaSuccess) return CudaStatus(#expr, err_); \
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

inline int CodeOf(Metric m) { return m == Metric::kL2 ? kL2 : m == Metric::kIP ? kIP : kCos; }

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
