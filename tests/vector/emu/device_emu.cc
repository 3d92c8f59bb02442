// src/vector/gpu/device.cu compiled as C++ against the emulated runtime (cuda_runtime.h here).
#include "vector/gpu/device.cu"  // NOLINT(build/include): the CUDA source itself
