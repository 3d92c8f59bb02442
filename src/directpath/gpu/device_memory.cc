// GPU memory on the direct path, with CUDA: IPC handles and the pinned staging ring.
#include "directpath/gpu/device_memory.h"

#include "common/cuda_probe.h"

#include <cuda.h>  // types only: the driver library is opened with dlopen
#include <cuda_runtime.h>
#include <dlfcn.h>

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

// The size of the allocation an IPC mapping opened, from the driver API (cuMemGetAddressRange):
// the runtime API cannot tell it, and the client's word for it must not be trusted (a copy past
// the allocation faults the server's CUDA context for good). 0 when it cannot be asked.
uint64_t AllocationBytes(const void* base) {
  using GetRange = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
  static const GetRange get_range = [] {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    return lib != nullptr ? reinterpret_cast<GetRange>(dlsym(lib, "cuMemGetAddressRange_v2")) : nullptr;
  }();
  if (get_range == nullptr) return 0;
  CUdeviceptr start = 0;
  size_t size = 0;
  if (get_range(&start, &size, reinterpret_cast<CUdeviceptr>(base)) != CUDA_SUCCESS) return 0;
  return reinterpret_cast<CUdeviceptr>(base) - start <= size ? size - (reinterpret_cast<CUdeviceptr>(base) - start) : 0;
}

}  // namespace

bool Available() { return CudaDeviceAvailable(); }

Result<std::string> ExportHandle(const void* device_ptr) {
  if (!Available()) return NoDevice();
  cudaIpcMemHandle_t handle;
  cudaError_t err = cudaIpcGetMemHandle(&handle, const_cast<void*>(device_ptr));
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::Invalid(std::string("not the start of a cudaMalloc allocation: ") +
                           cudaGetErrorString(err));
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(&handle), sizeof(handle)));
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

Result<std::unique_ptr<DeviceMemory>> DeviceMemory::Open(std::string_view handle_hex,
                                                         uint64_t size) {
  if (!Available()) return NoDevice();
  auto raw = HexDecode(handle_hex);
  if (!raw || raw->size() != sizeof(cudaIpcMemHandle_t)) {
    return Status::Invalid("a CUDA IPC handle is " + std::to_string(2 * sizeof(cudaIpcMemHandle_t)) +
                           " hex digits");
  }
  cudaIpcMemHandle_t handle;
  std::memcpy(&handle, raw->data(), sizeof(handle));
  std::unique_ptr<DeviceMemory> m(new DeviceMemory());
  void* base = nullptr;
  cudaError_t err = cudaIpcOpenMemHandle(&base, handle, cudaIpcMemLazyEnablePeerAccess);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::Invalid(std::string("cannot open the CUDA IPC handle: ") + cudaGetErrorString(err));
  }
  m->base_ = static_cast<char*>(base);  // closed by the destructor from here on
  const uint64_t allocated = AllocationBytes(base);
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
  if (base_ != nullptr) cudaIpcCloseMemHandle(base_);
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
      if (err != cudaSuccess) return CudaError("copy to device", err);
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
