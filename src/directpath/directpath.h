// directpath: the x-amz-rdma-token data path. A same-host client registers memory (a memfd,
// passed over a unix socket) and names it in the token of an ordinary signed S3 request; the
// server moves object bytes straight into or out of that memory.
//
// Invariant (NoByteOutsideTheNamedRange): a token is resolved (transport, region, key, bounds)
// before any byte moves, and every access goes through a Target whose span lies inside the
// region and inside the token's range.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/common.h"
#include "directpath/gpu/device_memory.h"

namespace skyway::directpath {

// Reasons of the statuses of this module.
inline constexpr char kDeclined[] = "Declined";          // a transport this server lacks: 501
inline constexpr char kInvalidToken[] = "InvalidToken";  // malformed, unknown region, bad bounds
inline constexpr char kKeyMismatch[] = "KeyMismatch";
inline constexpr char kRangeBusy[] = "RangeBusy";        // another operation uses the range

// "1.shm.<region>.<offset>.<length>.<key-hex>": decimal region, offset and length, 32 hex key.
struct ShmToken {
  uint64_t region = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string key;  // 16 raw bytes
  std::string Encode() const;
};

// Parses a token. A cuObject (verbs) token, or any other transport, is kDeclined; a malformed
// shm token is kInvalidToken.
Result<ShmToken> ParseToken(std::string_view token);

struct Limits {
  size_t max_regions_per_client = 64;
  uint64_t max_region_bytes = 4ull << 30;  // as cuObject
  uint64_t max_total_bytes = 64ull << 30;  // mapped at once, all clients together
};

class Region;

// Memory a token resolved to: [data, data + length) lies inside a live mapping, which stays
// mapped, and the range reserved against other operations, while the Target lives.
class Target {
 public:
  Target(std::shared_ptr<Region> region, uint64_t offset, uint64_t length);
  ~Target();
  Target(Target&&) noexcept = default;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  char* data() const;  // null when on_device()
  uint64_t length() const { return length_; }
  // Device memory (a CUDA IPC registration): bytes move only through Fill (into the first
  // `length` bytes of the target) and Drain (out of them), by the region's pinned staging ring.
  bool on_device() const;
  Status Fill(uint64_t length, const gpu::FillFn& fill) const;
  Status Drain(uint64_t length, const gpu::DrainFn& drain) const;

 private:
  std::shared_ptr<Region> region_;
  uint64_t offset_;
  uint64_t length_;
};

// The regions registered by clients, by id. Thread-safe.
class RegionRegistry {
 public:
  explicit RegionRegistry(Limits limits = Limits());
  ~RegionRegistry();

  // Maps `size` bytes of memfd for client `client`; returns the new region's id and fills key
  // (16 random bytes). Errors: kResourceExhausted (a limit), kInvalidArgument (size vs file).
  Result<uint64_t> Register(uint64_t client, int memfd, uint64_t size, std::string* key);
  // The same for a peer's device memory opened from its CUDA IPC handle.
  Result<uint64_t> RegisterDevice(uint64_t client, std::unique_ptr<gpu::DeviceMemory> memory,
                                  std::string* key);
  // Unmaps every region of the client (its socket closed). In-flight operations finish first.
  void DropClient(uint64_t client);
  // Checks key and bounds and reserves the range. Errors: kInvalidToken, kKeyMismatch,
  // kRangeBusy.
  Result<Target> Resolve(const ShmToken& token);
  size_t region_count() const;

 private:
  Status Admit(uint64_t client, uint64_t size);  // the limits; counts size as mapped
  uint64_t Add(std::shared_ptr<Region> region);

  Limits limits_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  uint64_t mapped_bytes_ = 0;
  std::map<uint64_t, std::shared_ptr<Region>> regions_;
};

// Authenticates a registration: the client proves it holds the secret of access_key by an
// HMAC (SigV4 key derivation, service "skyway-direct") over "SKYWAY-REGISTER\n<amz-date>\n<size>".
// Returns the secret for an access key, or nullopt if unknown.
using SecretLookup = std::function<std::optional<std::string>(const std::string& access_key)>;

// The registration endpoint: a unix socket. Each connection is one client; each request line
//   REGISTER <access-key> <amz-date> <region> <size> <signature-hex>\n  with a memfd attached
// is answered "OK <region-id> <key-hex>\n" or "ERR <reason> <message>\n". Closing the connection
// deregisters the client's regions.
class RegistrationServer {
 public:
  RegistrationServer(RegionRegistry* registry, SecretLookup secrets, int64_t max_skew_seconds);
  ~RegistrationServer();
  Status Listen(const std::string& socket_path);
  const std::string& path() const { return path_; }
  void Start();     // serves on a background thread
  void Shutdown();  // stops serving and drops every client

 private:
  void Serve();
  void ServeClient(int fd, uint64_t client);

  RegionRegistry* registry_;
  SecretLookup secrets_;
  int64_t max_skew_seconds_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable done_;
  std::map<uint64_t, int> clients_;  // client id -> socket, while its thread runs
  uint64_t next_client_ = 1;
};

// The signature a client sends with REGISTER.
std::string RegistrationSignature(std::string_view secret, std::string_view amz_date,
                                  std::string_view region, uint64_t size);

// ---- client side -----------------------------------------------------------------------------

// A memfd-backed buffer registered with a server over its unix socket. The registration lasts
// as long as the object (its socket stays open).
class RegisteredBuffer {
 public:
  // Creates and maps `size` bytes and registers them. Errors: kUnavailable-like kIOError when
  // the socket cannot be reached, or the server's refusal (kPermissionDenied,
  // kResourceExhausted).
  static Result<std::unique_ptr<RegisteredBuffer>> Create(const std::string& socket_path,
                                                         const std::string& access_key,
                                                         const std::string& secret_key,
                                                         const std::string& region, uint64_t size);
  // Registers device memory (the start of a cudaMalloc allocation, size bytes of it) by its CUDA
  // IPC handle; the caller keeps it allocated while the buffer lives, and may free it once the
  // buffer is gone (the destructor waits for the server to deregister it). Errors as Create, and
  // kFailedPrecondition when this process or the server has no CUDA device.
  static Result<std::unique_ptr<RegisteredBuffer>> CreateDevice(const std::string& socket_path,
                                                               const std::string& access_key,
                                                               const std::string& secret_key,
                                                               const std::string& region,
                                                               void* device_ptr, uint64_t size);
  ~RegisteredBuffer();
  char* data() const { return data_; }  // a device address for CreateDevice's
  bool on_device() const { return device_; }
  uint64_t size() const { return size_; }
  // The token for [offset, offset + length) of this buffer. REQUIRES: inside the buffer.
  std::string Token(uint64_t offset, uint64_t length) const;

 private:
  RegisteredBuffer() = default;
  Status Register(const std::string& verb, const std::string& access_key,
                  const std::string& secret_key, const std::string& region,
                  const std::string& extra, int pass_fd);
  int socket_ = -1;
  bool device_ = false;
  int memfd_ = -1;
  char* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t region_ = 0;
  std::string key_;
};

}  // namespace skyway::directpath
