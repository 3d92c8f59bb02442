// GPU memory on the direct path, with CUDA: IPC handles and the pinned staging ring.
#include "directpath/gpu/device_memory.h"

#include "common/cuda_probe.h"

#include <cuda.h>  // types only: the driver library is opened with dlopen
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace skyway::directpath::gpu {
namespace {

constexpr int kRingSlots = 4;
constexpr uint64_t kSlotBytes = 8 << 20;

Status CudaError(const char* what, cudaError_t err) {
  cudaGetLastError();
  return Status::Internal(std::string("CUDA ") + what + ": " + cudaGetErrorString(err));
}

#define CUDA_OR_RETURN(what, expr)                         \
  do {                                                     \
    cudaError_t err_ = (expr);                             \
    if (err_ != cudaSuccess) return CudaError(what, err_); \
  } while (0)

Status NoDevice() {
  return Status(Code::kFailedPrecondition, "Declined", "this server has no CUDA device");
}

// The device allocation holding p, from the driver API (cuMemGetAddressRange): the runtime API
// cannot tell it, and a client's word for a size must not be trusted (a copy past the allocation
// faults the server's CUDA context for good). Empty (size 0) when it cannot be asked.
struct Allocation {
  uintptr_t start = 0;
  uint64_t size = 0;
};
Allocation AllocationOf(const void* p) {
  using GetRange = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
#ifdef SKYWAY_CUDA_EMULATION  // tests/vector/emu
  static GetRange get_range = &cuMemGetAddressRange_v2;  // not const: no always-true check
#else
  static const GetRange get_range = [] {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    return lib != nullptr ? reinterpret_cast<GetRange>(dlsym(lib, "cuMemGetAddressRange_v2")) : nullptr;
  }();
#endif
  // The driver API needs a current context on this thread, which the runtime makes only once
  // the thread has called it (a registration thread may not have): cudaFree(nullptr) does.
  cudaFree(nullptr);
  cudaGetLastError();
  CUdeviceptr start = 0;
  size_t size = 0;
  if (get_range == nullptr || get_range(&start, &size, reinterpret_cast<CUdeviceptr>(p)) != CUDA_SUCCESS) {
    return {};
  }
  return {static_cast<uintptr_t>(start), size};
}

// Bytes of p's allocation from p on.
uint64_t BytesFrom(const void* p) {
  const Allocation a = AllocationOf(p);
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  return a.size > 0 && at >= a.start && at - a.start <= a.size ? a.size - (at - a.start) : 0;
}

}  // namespace

#ifdef SKYWAY_CUDA_EMULATION
bool Available() { return true; }
#else
bool Available() { return CudaDeviceAvailable(); }
#endif

Result<std::string> ExportHandle(const void* device_ptr) {
  if (!Available()) return NoDevice();
  const Allocation a = AllocationOf(device_ptr);
  if (a.size == 0) return Status::Invalid("not GPU memory of this process");
  if (a.start != reinterpret_cast<uintptr_t>(device_ptr)) {
    return Status::Invalid("not the start of a cudaMalloc allocation (it starts " +
                           std::to_string(reinterpret_cast<uintptr_t>(device_ptr) - a.start) +
                           " bytes earlier)");
  }
  cudaIpcMemHandle_t handle;
  cudaError_t err = cudaIpcGetMemHandle(&handle, const_cast<void*>(device_ptr));
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::Invalid(std::string("no CUDA IPC handle for this memory: ") + cudaGetErrorString(err));
  }
  char address[32];
  snprintf(address, sizeof address, "%llx", static_cast<unsigned long long>(a.start));
  return HexEncode(std::string_view(reinterpret_cast<const char*>(&handle), sizeof(handle))) + "@" +
         address;
}

Status CopyToDevice(void* device_dst, const void* host_src, uint64_t n) {
  if (!Available()) return NoDevice();
  CUDA_OR_RETURN("copy to device", cudaMemcpy(device_dst, host_src, n, cudaMemcpyHostToDevice));
  return Status::Ok();
}

Status CopyToHost(void* host_dst, const void* device_src, uint64_t n) {
  if (!Available()) return NoDevice();
  CUDA_OR_RETURN("copy to host", cudaMemcpy(host_dst, device_src, n, cudaMemcpyDeviceToHost));
  return Status::Ok();
}

Result<std::unique_ptr<DeviceAllocation>> DeviceAllocation::Make(uint64_t bytes) {
  if (!Available()) return NoDevice();
  std::unique_ptr<DeviceAllocation> a(new DeviceAllocation);
  const cudaError_t err = cudaMalloc(reinterpret_cast<void**>(&a->data_), std::max<uint64_t>(bytes, 1));
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return Status(Code::kResourceExhausted, "", "cudaMalloc of " + FormatBytes(bytes) + ": out of device memory");
  }
  CUDA_OR_RETURN("cudaMalloc", err);
  return a;
}

DeviceAllocation::~DeviceAllocation() {
  if (data_ != nullptr) cudaFree(data_);
}

Result<double> PinnedCopySeconds(void* device_dst, uint64_t n, int repeats) {
  if (!Available()) return NoDevice();
  void* pinned = nullptr;
  CUDA_OR_RETURN("cudaMallocHost", cudaMallocHost(&pinned, std::max<uint64_t>(n, 1)));
  std::memset(pinned, 0x5A, n);  // touched: the copy measures the bus, not page faults
  double best = -1;
  cudaError_t err = cudaSuccess;
  for (int i = 0; i < std::max(repeats, 1) && err == cudaSuccess; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    err = cudaMemcpy(device_dst, pinned, n, cudaMemcpyHostToDevice);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (best < 0 || s < best) best = s;
  }
  cudaFreeHost(pinned);
  CUDA_OR_RETURN("pinned copy to device", err);
  return best;
}

// Pinned host slots, each with its stream: slot i's copy overlaps the filling of the others.
struct DeviceMemory::Ring {
  char* slots[kRingSlots] = {};
  cudaStream_t streams[kRingSlots] = {};
  ~Ring() {
    for (int i = 0; i < kRingSlots; i++) {
      if (streams[i] != nullptr) cudaStreamDestroy(streams[i]);
      if (slots[i] != nullptr) cudaFreeHost(slots[i]);
    }
  }
};

Result<std::unique_ptr<DeviceMemory>> DeviceMemory::Open(std::string_view text, uint64_t size,
                                                         bool same_process) {
  if (!Available()) return NoDevice();
  const size_t at = text.find('@');
  auto raw = HexDecode(text.substr(0, at));
  unsigned long long address = 0;
  char* end = nullptr;
  if (at != std::string_view::npos && at + 1 < text.size()) {
    const std::string digits(text.substr(at + 1));
    address = std::strtoull(digits.c_str(), &end, 16);
    if (*end != '\0') address = 0;
  }
  if (!raw || raw->size() != sizeof(cudaIpcMemHandle_t) || address == 0) {
    return Status::Invalid("a CUDA registration is " + std::to_string(2 * sizeof(cudaIpcMemHandle_t)) +
                           " hex digits of IPC handle, '@', the address in hex");
  }
  std::unique_ptr<DeviceMemory> m(new DeviceMemory());
  if (same_process) {
    // CUDA refuses to open a process's own handle; the address is valid here as it is.
    m->base_ = reinterpret_cast<char*>(static_cast<uintptr_t>(address));
  } else {
    cudaIpcMemHandle_t handle;
    std::memcpy(&handle, raw->data(), sizeof(handle));
    void* base = nullptr;
    cudaError_t err = cudaIpcOpenMemHandle(&base, handle, cudaIpcMemLazyEnablePeerAccess);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return Status::Invalid(std::string("cannot open the CUDA IPC handle: ") + cudaGetErrorString(err));
    }
    m->base_ = static_cast<char*>(base);  // closed by the destructor from here on
    m->mapped_ = true;
  }
  const uint64_t allocated = BytesFrom(m->base_);
  if (allocated < size) {
    return Status::Invalid("the registered size (" + std::to_string(size) +
                           " bytes) exceeds the GPU allocation behind the handle (" +
                           std::to_string(allocated) + " bytes)");
  }
  m->size_ = size;
  m->ring_ = std::make_unique<Ring>();
  for (int i = 0; i < kRingSlots; i++) {
    CUDA_OR_RETURN("pinned staging", cudaHostAlloc(reinterpret_cast<void**>(&m->ring_->slots[i]),
                                                   kSlotBytes, cudaHostAllocDefault));
    CUDA_OR_RETURN("stream", cudaStreamCreateWithFlags(&m->ring_->streams[i], cudaStreamNonBlocking));
  }
  return m;
}

DeviceMemory::~DeviceMemory() {
  ring_.reset();
  if (mapped_) cudaIpcCloseMemHandle(base_);
}

Status DeviceMemory::Fill(uint64_t offset, uint64_t length, const FillFn& fill) {
  std::lock_guard<std::mutex> lock(mu_);
  Status result = Status::Ok();
  uint64_t chunks = (length + kSlotBytes - 1) / kSlotBytes;
  for (uint64_t c = 0; c < chunks && result.ok(); c++) {
    const int s = static_cast<int>(c % kRingSlots);
    // The slot's previous copy must be done before it is filled again.
    if (c >= kRingSlots) {
      cudaError_t err = cudaStreamSynchronize(ring_->streams[s]);
      if (err != cudaSuccess) {
        result = CudaError("copy to device", err);
        break;  // the other slots' copies are still waited for below
      }
    }
    const uint64_t at = c * kSlotBytes, n = std::min(kSlotBytes, length - at);
    result = fill(ring_->slots[s], at, n);
    if (!result.ok()) break;
    cudaError_t err = cudaMemcpyAsync(base_ + offset + at, ring_->slots[s], n,
                                      cudaMemcpyHostToDevice, ring_->streams[s]);
    if (err != cudaSuccess) result = CudaError("copy to device", err);
  }
  for (int s = 0; s < kRingSlots; s++) {
    cudaError_t err = cudaStreamSynchronize(ring_->streams[s]);
    if (err != cudaSuccess && result.ok()) result = CudaError("copy to device", err);
  }
  return result;
}

Status DeviceMemory::Drain(uint64_t offset, uint64_t length, const DrainFn& drain) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t chunks = (length + kSlotBytes - 1) / kSlotBytes;
  auto issue = [&](uint64_t c) -> Status {
    const int s = static_cast<int>(c % kRingSlots);
    const uint64_t at = c * kSlotBytes, n = std::min(kSlotBytes, length - at);
    CUDA_OR_RETURN("copy to host", cudaMemcpyAsync(ring_->slots[s], base_ + offset + at, n,
                                                   cudaMemcpyDeviceToHost, ring_->streams[s]));
    return Status::Ok();
  };
  Status result = Status::Ok();
  for (uint64_t c = 0; c < std::min<uint64_t>(chunks, kRingSlots) && result.ok(); c++) result = issue(c);
  for (uint64_t c = 0; c < chunks && result.ok(); c++) {
    const int s = static_cast<int>(c % kRingSlots);
    cudaError_t err = cudaStreamSynchronize(ring_->streams[s]);
    if (err != cudaSuccess) {
      result = CudaError("copy to host", err);
      break;
    }
    const uint64_t at = c * kSlotBytes, n = std::min(kSlotBytes, length - at);
    result = drain(ring_->slots[s], at, n);
    if (result.ok() && c + kRingSlots < chunks) result = issue(c + kRingSlots);
  }
  for (int s = 0; s < kRingSlots; s++) cudaStreamSynchronize(ring_->streams[s]);
  return result;
}

}  // namespace skyway::directpath::gpu
