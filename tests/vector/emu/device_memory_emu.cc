// src/directpath/gpu/device_memory.cc compiled against the emulated runtime (cuda_runtime.h and
// cuda.h here).
#include "directpath/gpu/device_memory.cc"  // NOLINT(build/include): the CUDA source itself
