// Whether this process can use a CUDA device: built with CUDA, a driver, at least one device,
// and SKYWAY_NO_GPU unset (or 0). Probed once; cheap after. The GPU code of vector/ and
// directpath/ asks this before any other CUDA call.
#pragma once

namespace skyway {
bool CudaDeviceAvailable();
}  // namespace skyway
