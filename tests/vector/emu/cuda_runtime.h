// The CUDA runtime API that src/vector/gpu uses, emulated on the CPU for gpu_emu_test: device
// memory is host memory the "device" tracks (a budget, so out-of-memory paths run too), copies
// are memcpy checked against their declared direction, launches run the kernel on cuda_emu.h's
// fibers after checking that every pointer argument is device memory. So the host side of the
// GPU code (tiling, batching, streaming, pitches, error paths) runs in CI, which has no GPU.
// Only what src/vector/gpu calls is here; every function is internal to its translation unit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include "cuda_emu.h"

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
};
struct cudaPointerAttributes {
  cudaMemoryType type = cudaMemoryTypeUnregistered;
  int device = 0;
  void* devicePointer = nullptr;
  void* hostPointer = nullptr;
};
struct cudaFuncAttributes {
  size_t sharedSizeBytes = 0;
};
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor;
};
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
struct cudaIpcMemHandle_t {
  char reserved[64];
};
struct CUstream_st {};
typedef CUstream_st* cudaStream_t;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocDefault = 0;
constexpr unsigned cudaIpcMemLazyEnablePeerAccess = 1;
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

namespace cuda_emu {

// The emulated device: 2 GiB, allocations by start address.
struct Device {
  std::mutex mu;
  std::map<uintptr_t, size_t> allocations;
  size_t total = size_t{2} << 30;
  size_t used = 0;
};
inline Device& TheDevice() {
  static Device d;
  return d;
}
inline thread_local cudaError_t t_last_error = cudaSuccess;

inline cudaError_t Fail(cudaError_t e) {
  t_last_error = e;
  return e;
}

// The device allocation holding p: {start, size}, or {0, 0} when p is not device memory.
inline std::pair<uintptr_t, size_t> AllocationOf(const void* p) {
  Device& d = TheDevice();
  std::lock_guard<std::mutex> lock(d.mu);
  const auto at = reinterpret_cast<uintptr_t>(p);
  auto it = d.allocations.upper_bound(at);
  if (it == d.allocations.begin()) return {0, 0};
  --it;
  if (at - it->first >= it->second) return {0, 0};
  return *it;
}

// Whether [p, p + bytes) lies inside one device allocation.
inline bool OnDevice(const void* p, size_t bytes = 1) {
  const auto [start, size] = AllocationOf(p);
  return size > 0 && reinterpret_cast<uintptr_t>(p) - start + std::max<size_t>(bytes, 1) <= size;
}

inline bool KindFits(cudaMemcpyKind kind, const void* dst, const void* src, size_t bytes) {
  switch (kind) {
    case cudaMemcpyHostToDevice: return OnDevice(dst, bytes) && !OnDevice(src);
    case cudaMemcpyDeviceToHost: return !OnDevice(dst) && OnDevice(src, bytes);
    case cudaMemcpyDeviceToDevice: return OnDevice(dst, bytes) && OnDevice(src, bytes);
    case cudaMemcpyHostToHost: return !OnDevice(dst) && !OnDevice(src);
    case cudaMemcpyDefault: return true;
  }
  return false;
}

// A kernel given a host pointer faults on a GPU: here it stops the test, naming the kernel.
template <typename T>
void CheckArgument(const char* kernel, int index, const T& arg) {
  if constexpr (std::is_pointer_v<T>) {
    if (arg != nullptr && !OnDevice(arg)) {
      std::fprintf(stderr, "cuda_emu: %s: argument %d is not device memory\n", kernel, index);
      std::abort();
    }
  }
}
template <typename... Args>
void CheckArguments(const char* kernel, const Args&... args) {
  int index = 0;
  (CheckArgument(kernel, index++, args), ...);
}

}  // namespace cuda_emu

#define SKYWAY_LAUNCH(kernel, grid, block, shared, ...)                                       \
  do {                                                                                        \
    ::cuda_emu::CheckArguments(#kernel, __VA_ARGS__);                                         \
    ::cuda_emu::Launch(static_cast<unsigned>(grid), static_cast<unsigned>(block), shared,     \
                       [&] { kernel(__VA_ARGS__); });                                         \
  } while (0)

static inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
  }
  return "unknown error";
}
static inline cudaError_t cudaGetLastError() {
  const cudaError_t e = cuda_emu::t_last_error;
  cuda_emu::t_last_error = cudaSuccess;
  return e;
}
static inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  cuda_emu::Device& d = cuda_emu::TheDevice();
  std::lock_guard<std::mutex> lock(d.mu);
  bytes = std::max<size_t>(bytes, 1);
  if (d.used + bytes > d.total) return cuda_emu::Fail(cudaErrorMemoryAllocation);
  *p = std::malloc(bytes);  // not touched: a large "device" allocation costs no host memory
  if (*p == nullptr) return cuda_emu::Fail(cudaErrorMemoryAllocation);
  d.allocations[reinterpret_cast<uintptr_t>(*p)] = bytes;
  d.used += bytes;
  return cudaSuccess;
}
static inline cudaError_t cudaFree(void* p) {
  if (p == nullptr) return cudaSuccess;
  cuda_emu::Device& d = cuda_emu::TheDevice();
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.allocations.find(reinterpret_cast<uintptr_t>(p));
  if (it == d.allocations.end()) return cuda_emu::Fail(cudaErrorInvalidValue);
  d.used -= it->second;
  d.allocations.erase(it);
  std::free(p);
  return cudaSuccess;
}
static inline cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  cuda_emu::Device& d = cuda_emu::TheDevice();
  std::lock_guard<std::mutex> lock(d.mu);
  *free_bytes = d.total - d.used;
  *total = d.total;
  return cudaSuccess;
}
static inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!cuda_emu::KindFits(kind, dst, src, bytes)) return cuda_emu::Fail(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
static inline cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch,
                                       size_t width, size_t height, cudaMemcpyKind kind) {
  if (width > dpitch || width > spitch) return cuda_emu::Fail(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; ++r) {
    const cudaError_t e = cudaMemcpy(static_cast<char*>(dst) + r * dpitch,
                                     static_cast<const char*>(src) + r * spitch, width, kind);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}
static inline cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes > 0 && !cuda_emu::OnDevice(p, bytes)) return cuda_emu::Fail(cudaErrorInvalidValue);
  std::memset(p, value, bytes);
  return cudaSuccess;
}
static inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
  *attr = {};
  if (cuda_emu::OnDevice(p)) {
    attr->type = cudaMemoryTypeDevice;
    attr->devicePointer = const_cast<void*>(p);
  }
  return cudaSuccess;
}
static inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
static inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
static inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulated on the CPU");
  prop->totalGlobalMem = cuda_emu::TheDevice().total;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
static inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
  *value = 227 << 10;  // an H100's opt-in shared memory per block
  return cudaSuccess;
}
// Pinned host memory is plain host memory; an IPC handle carries the allocation's address (the
// emulation is one process); streams copy at once.
static inline cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = std::malloc(std::max<size_t>(bytes, 1));
  return *p != nullptr ? cudaSuccess : cuda_emu::Fail(cudaErrorMemoryAllocation);
}
static inline cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) { return cudaMallocHost(p, bytes); }
static inline cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
static inline cudaError_t cudaIpcGetMemHandle(cudaIpcMemHandle_t* handle, void* p) {
  if (!cuda_emu::OnDevice(p)) return cuda_emu::Fail(cudaErrorInvalidValue);
  std::memset(handle, 0, sizeof *handle);
  std::memcpy(handle->reserved, &p, sizeof p);
  return cudaSuccess;
}
static inline cudaError_t cudaIpcOpenMemHandle(void** p, cudaIpcMemHandle_t handle, unsigned) {
  std::memcpy(p, handle.reserved, sizeof *p);
  return cuda_emu::OnDevice(*p) ? cudaSuccess : cuda_emu::Fail(cudaErrorInvalidValue);
}
static inline cudaError_t cudaIpcCloseMemHandle(void*) { return cudaSuccess; }
static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new CUstream_st;
  return cudaSuccess;
}
static inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
static inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
static inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                                          cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

template <typename F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, F) {
  *attr = {};
  attr->sharedSizeBytes = 512;  // the kernels' static __shared__ arrays, roughly
  return cudaSuccess;
}
template <typename F>
cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) {
  return cudaSuccess;
}
