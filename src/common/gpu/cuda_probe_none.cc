// The CUDA device probe in a build without CUDA.
#include "common/cuda_probe.h"

namespace skyway {
bool CudaDeviceAvailable() { return false; }
}  // namespace skyway
