// src/vector/gpu/device_search.cu compiled as C++ against the emulated runtime.
#include "vector/gpu/device_search.cu"  // NOLINT(build/include): the CUDA source itself
