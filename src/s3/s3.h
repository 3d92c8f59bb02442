// s3: the S3 REST API over a store::Backend: addressing, SigV4 authentication, the operations,
// XML bodies and S3 error replies.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "http/http.h"
#include "store/store.h"

namespace skyway::directpath {
class RegionRegistry;
}

namespace skyway::s3 {

struct Credential {
  std::string access_key;
  std::string secret_key;
};

struct Config {
  std::string region = "us-east-1";
  // Host names under which "<bucket>.<domain>" selects a bucket (virtual-host-style).
  std::vector<std::string> domains = {"localhost"};
  std::vector<Credential> credentials;
  int64_t max_clock_skew_seconds = 15 * 60;
  uint64_t max_object_size = 5ull << 30;  // single PUT, as S3
  size_t max_key_bytes = 1024;
  size_t max_user_metadata_bytes = 2048;
  // The direct data path: registered client memory named by x-amz-rdma-token. Null: tokens
  // are declined (x-amz-rdma-reply: 501). direct_socket is where clients register.
  directpath::RegionRegistry* regions = nullptr;
  std::string direct_socket;
};

// Request counters for /_skyway/metrics (Prometheus text format). Thread-safe.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  void Record(const std::string& operation, int status, uint64_t bytes_in, uint64_t bytes_out,
              double seconds);
  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Besides the S3 API, the service answers two unauthenticated paths that no bucket can take
// (bucket names have no '_'): GET /_skyway/health, GET /_skyway/metrics and GET /_skyway/direct
// (the registration socket's path, when the direct path is on).
class Service {
 public:
  // REQUIRES: backend outlives the service.
  Service(store::Backend* backend, Config config);

  // Serves one request: authenticates, routes and answers (errors as S3 XML).
  void Handle(http::Request& request, http::Response& response);
  // Shapes replies to requests the HTTP layer could not parse, as S3 XML errors.
  static void FormatProtocolError(int status, std::string_view reason, std::string_view message,
                                  http::Response& response);

 private:
  store::Backend* backend_;
  Config config_;
  std::atomic<uint64_t> next_request_{1};
  std::string host_id_;
  Metrics metrics_;
};

}  // namespace skyway::s3
