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
  const auto [start, bytes] = cuda_emu::AllocationOf(reinterpret_cast<const void*>(p));
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  *base = start;
  *size = bytes;
  return CUDA_SUCCESS;
}
