// The one CUDA driver call src/directpath/gpu uses (cuMemGetAddressRange), emulated over the
// device of cuda_runtime.h here; device_memory.cc binds it directly when emulated (a real build
// opens libcuda with dlopen).
#pragma once

#include "cuda_runtime.h"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;  // NOLINT(runtime/int): the driver API's type
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;

static inline CUresult cuMemGetAddressRange_v2(CUdeviceptr* base, size_t* size, CUdeviceptr p) {
  cuda_emu::Device& d = cuda_emu::TheDevice();
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.allocations.upper_bound(static_cast<uintptr_t>(p));
  if (it == d.allocations.begin()) return CUDA_ERROR_INVALID_VALUE;
  --it;
  if (p - it->first >= it->second) return CUDA_ERROR_INVALID_VALUE;
  *base = it->first;
  *size = it->second;
  return CUDA_SUCCESS;
}
