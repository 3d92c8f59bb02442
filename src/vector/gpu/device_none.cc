// The GPU side when the toolchain had no CUDA: no device, every call refused.
#include "vector/gpu/device.h"

namespace skyway::vector::gpu {
namespace {
Status NoCuda() {
  return Status(Code::kFailedPrecondition, "", "this build has no CUDA support (nvcc was not found)");
}
}  // namespace

bool Available() { return false; }
Result<std::unique_ptr<DeviceVectors>> AllocateVectors(size_t) { return NoCuda(); }
bool IsDevicePointer(const void*) { return false; }
std::string Describe() { return "no CUDA support in this build"; }
size_t MinDeviceSearchBatch() { return 256; }
uint64_t MinDeviceBruteForceWork() { return 1 << 24; }
uint64_t FreeBytes() { return 0; }
Status Copy(void*, const void*, size_t) { return NoCuda(); }
Status GatherRows(const float*, const uint32_t*, size_t, size_t, float*) { return NoCuda(); }
uint64_t KnnGraphBytes(size_t, size_t, size_t) { return 0; }
uint64_t BlockTopKBytes(size_t, size_t, size_t, size_t) { return 0; }
Result<std::unique_ptr<BlockTopK>> NewBlockTopK(Metric, size_t, size_t, size_t, size_t, bool) {
  return NoCuda();
}
Result<std::vector<uint32_t>> KnnGraph(Metric, const float*, size_t, size_t, size_t) { return NoCuda(); }
Result<std::vector<uint32_t>> PruneByDetours(const uint32_t*, size_t, size_t, size_t) { return NoCuda(); }
Result<std::vector<std::vector<Hit>>> BruteForce(Metric, const float*, size_t, size_t, const float*,
                                                 size_t, size_t) {
  return NoCuda();
}

Result<std::vector<std::vector<Hit>>> CagraSearch(Metric, const cagra::GraphView&, const float*,
                                                  size_t, size_t, size_t, size_t, size_t, uint64_t) {
  return NoCuda();
}

}  // namespace skyway::vector::gpu
