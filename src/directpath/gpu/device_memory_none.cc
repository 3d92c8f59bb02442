// GPU memory on the direct path, in a build without CUDA: nothing can be opened.
#include "directpath/gpu/device_memory.h"

namespace skyway::directpath::gpu {
namespace {
Status NoCuda() {
  return Status(Code::kFailedPrecondition, "Declined", "this server was built without CUDA");
}
}  // namespace

struct DeviceMemory::Ring {};

bool Available() { return false; }
Result<std::string> ExportHandle(const void*) { return NoCuda(); }
Status CopyToDevice(void*, const void*, uint64_t) { return NoCuda(); }
Status CopyToHost(void*, const void*, uint64_t) { return NoCuda(); }
Result<std::unique_ptr<DeviceAllocation>> DeviceAllocation::Make(uint64_t) { return NoCuda(); }
DeviceAllocation::~DeviceAllocation() = default;
Result<double> PinnedCopySeconds(void*, uint64_t, int) { return NoCuda(); }
Result<std::unique_ptr<DeviceMemory>> DeviceMemory::Open(std::string_view, uint64_t, bool) {
  return NoCuda();
}
DeviceMemory::~DeviceMemory() = default;
Status DeviceMemory::Fill(uint64_t, uint64_t, const FillFn&) { return NoCuda(); }
Status DeviceMemory::Drain(uint64_t, uint64_t, const DrainFn&) { return NoCuda(); }

}  // namespace skyway::directpath::gpu
