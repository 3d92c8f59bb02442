// The CUDA device probe, with the CUDA runtime.
#include <cuda_runtime.h>

#include <cstdlib>

#include "common/cuda_probe.h"

namespace skyway {

bool CudaDeviceAvailable() {
  static const bool available = [] {
    const char* off = std::getenv("SKYWAY_NO_GPU");
    if (off != nullptr && off[0] != '\0' && off[0] != '0') return false;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return count > 0;
  }();
  return available;
}

}  // namespace skyway
