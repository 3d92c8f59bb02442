// client: an S3 client library. SigV4 signing, HTTP over libcurl with keep-alive and retries,
// transfers into and out of caller memory, parallel ranged GET and parallel multipart PUT, and
// the direct data path (x-amz-rdma-token) when the memory is registered and the server takes
// the token; plain HTTP otherwise, including after a server declines (501).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/common.h"

namespace skyway::client {

struct Options {
  std::string endpoint = "http://127.0.0.1:9000";
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
  int retries = 3;               // extra attempts after a connection error or a 5xx
  int timeout_seconds = 300;     // per request
  bool direct = true;            // use the direct path when the server offers it
  std::string direct_socket;     // empty: ask the server (GET /_skyway/direct)
  uint64_t part_size = 16 << 20;  // ranged GET / multipart part size
  int parallelism = 4;            // concurrent requests of one parallel transfer
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;           // without quotes
  std::string last_modified;  // as the server sent it
  std::string content_type;
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;  // pass back to continue
};

enum class Transport { kHttp, kDirect };

struct TransferResult {
  uint64_t bytes = 0;
  std::string etag;
  Transport transport = Transport::kHttp;  // kDirect only if every byte took the direct path
};

// Called with bytes done so far and the total, from any transfer thread.
using Progress = std::function<void(uint64_t done, uint64_t total)>;

// Memory from Client::Allocate: registered with the server for the direct path when it could
// be, ordinary memory otherwise. Keep it alive while a transfer uses it.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual char* data() const = 0;
  virtual uint64_t size() const = 0;
  virtual bool registered() const = 0;
};

class Client {
 public:
  // Errors: kInvalidArgument (options). Does not contact the server.
  static Result<std::unique_ptr<Client>> Create(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // S3 errors come back as statuses whose reason is the S3 error code (e.g. "NoSuchKey").
  Status CreateBucket(const std::string& bucket);
  Status DeleteBucket(const std::string& bucket);
  Result<std::vector<std::string>> ListBuckets();
  Result<ListPage> List(const std::string& bucket, const std::string& prefix,
                        const std::string& delimiter, const std::string& token, int max_keys = 1000);
  Result<ObjectInfo> Stat(const std::string& bucket, const std::string& key);
  Status Delete(const std::string& bucket, const std::string& key);
  Result<TransferResult> Copy(const std::string& src_bucket, const std::string& src_key,
                              const std::string& dst_bucket, const std::string& dst_key);

  // Memory for transfers; registered for the direct path when options.direct and the server
  // offers it (falls back to ordinary memory, registered() false, otherwise).
  Result<std::unique_ptr<Buffer>> Allocate(uint64_t size);
  // Registers GPU memory (the start of a cudaMalloc allocation, size bytes of it) for the direct
  // path: Get/ParallelGet into it and Put/ParallelPut from it then move the bytes between the
  // store and the GPU through the server's pinned staging ring, with no host copy here. The
  // caller keeps the memory allocated while the Buffer lives; data() is a device address.
  // Errors: kFailedPrecondition when this process or the server has no CUDA device or the
  // direct path is off. A transfer to or from it that the server declines fails (device memory
  // takes no HTTP body) with kFailedPrecondition.
  Result<std::unique_ptr<Buffer>> RegisterDevice(void* device_ptr, uint64_t size);
  // Whether the last attempt to use the direct path worked (false: not offered or declined).
  bool direct_available();

  // Reads the object, or `length` bytes from `offset` when length > 0, into dst (at most
  // capacity bytes). Direct when dst lies in a registered Buffer. Errors: kOutOfRange when the
  // object does not fit in capacity.
  Result<TransferResult> Get(const std::string& bucket, const std::string& key, char* dst,
                             uint64_t capacity, uint64_t offset = 0, uint64_t length = 0);
  Result<TransferResult> Put(const std::string& bucket, const std::string& key, const char* src,
                             uint64_t size, const std::string& content_type = "");
  // Ranged GETs of part_size across `parallelism` requests. REQUIRES: capacity >= object size.
  Result<TransferResult> ParallelGet(const std::string& bucket, const std::string& key, char* dst,
                                     uint64_t capacity, const Progress& progress = nullptr);
  // A single PUT up to part_size, else a multipart upload with parts sent in parallel.
  Result<TransferResult> ParallelPut(const std::string& bucket, const std::string& key,
                                     const char* src, uint64_t size,
                                     const Progress& progress = nullptr);
  // Files, streamed through a window of registered memory (the CLI's cp).
  Result<TransferResult> Download(const std::string& bucket, const std::string& key,
                                  const std::string& path, const Progress& progress = nullptr);
  Result<TransferResult> Upload(const std::string& path, const std::string& bucket,
                                const std::string& key, const Progress& progress = nullptr);

  class Impl;  // opaque: private to client/

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skyway::client
