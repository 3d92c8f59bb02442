// GPU memory on the direct path. A client exports a block of its device memory as a CUDA IPC
// handle and registers it over the registration socket (REGISTER-CUDA); the server opens the
// handle and moves object bytes between the page cache and that memory through a ring of pinned
// staging buffers, each copy an async cudaMemcpy on its own stream overlapped with the file
// reads (GET) or writes (PUT). Built from device_memory.cc when CUDA is present, from
// device_memory_none.cc otherwise (every call refused with kFailedPrecondition).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/common.h"

namespace skyway::directpath::gpu {

// Whether this process can use a CUDA device (built with CUDA, a driver, a device).
bool Available();

// Client side: what REGISTER-CUDA carries for the allocation starting at ptr: its CUDA IPC
// handle and the address itself ("<handle-hex>@<address-hex>"; the address serves a server in
// the same process, which CUDA does not let open its own handles). Errors: kFailedPrecondition
// (no CUDA), kInvalidArgument (not device memory, or not the start of its allocation: a handle
// names the whole allocation, so an inner pointer would be mapped at the allocation's start).
Result<std::string> ExportHandle(const void* device_ptr);

// Client side: plain copies between host and device memory (the HTTP fallback's bounce).
Status CopyToDevice(void* device_dst, const void* host_src, uint64_t n);
Status CopyToHost(void* host_dst, const void* device_src, uint64_t n);

// Device memory (cudaMalloc) freed with the object, for tools (`skyway bench gpu-get`).
class DeviceAllocation {
 public:
  // Errors: kFailedPrecondition (no CUDA), kResourceExhausted (the device is full).
  static Result<std::unique_ptr<DeviceAllocation>> Make(uint64_t bytes);
  ~DeviceAllocation();
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;
  char* data() const { return data_; }

 private:
  DeviceAllocation() = default;
  char* data_ = nullptr;
};

// The seconds of the fastest of `repeats` host -> device copies of n bytes from pinned host
// memory into device_dst: the bound a direct GET into GPU memory is measured against.
Result<double> PinnedCopySeconds(void* device_dst, uint64_t n, int repeats);

// Fills staging with the n bytes at offset `at` of the transfer (GET: read them from the file);
// drains staging (PUT: hash and write them).
using FillFn = std::function<Status(char* staging, uint64_t at, uint64_t n)>;
using DrainFn = std::function<Status(const char* staging, uint64_t at, uint64_t n)>;

// Server side: a peer's device memory opened from its IPC handle, with the staging ring.
class DeviceMemory {
 public:
  // Opens ExportHandle's text. same_process: the peer is this process (the socket's credentials
  // say so), so its address is used as it is; else the IPC handle is opened. Either way size
  // must fit the allocation. Errors: kFailedPrecondition (no CUDA device here),
  // kInvalidArgument (a bad handle, or size past the allocation).
  static Result<std::unique_ptr<DeviceMemory>> Open(std::string_view handle, uint64_t size,
                                                    bool same_process);
  ~DeviceMemory();
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  uint64_t size() const { return size_; }

  // Moves [offset, offset + length) of the device memory: Fill host -> device (fill supplies
  // each slice of the ring), Drain device -> host (drain consumes each). One transfer at a time
  // per region (the ring is shared). REQUIRES: inside size().
  Status Fill(uint64_t offset, uint64_t length, const FillFn& fill);
  Status Drain(uint64_t offset, uint64_t length, const DrainFn& drain);

 private:
  DeviceMemory() = default;
  struct Ring;
  char* base_ = nullptr;  // the device address: an IPC mapping, or the peer's own (same process)
  bool mapped_ = false;   // base_ is an IPC mapping to close
  uint64_t size_ = 0;
  std::unique_ptr<Ring> ring_;
  std::mutex mu_;
};

}  // namespace skyway::directpath::gpu
