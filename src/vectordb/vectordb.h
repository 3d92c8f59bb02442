// vectordb: a Milvus-style vector database whose collections live in an S3 object store,
// reached only through the client library (the direct path when the endpoint offers it). Serves
// the Milvus RESTful API v2 (POST /v2/vectordb/<group>/<verb>, JSON envelopes {code, data}).
#pragma once

#include <memory>
#include <string>

#include "client/client.h"
#include "common/common.h"
#include "http/http.h"

namespace skyway::vectordb {

struct Options {
  client::Options store;            // the S3 endpoint and its credentials
  std::string bucket = "vectordb";  // where collections live
  // API credentials: requests must carry `Authorization: Bearer ACCESS:SECRET`.
  std::string access_key, secret_key;
  size_t segment_rows = 0;           // seal a growing segment at this many rows (0: by size)
  size_t segment_bytes = 512 << 20;  // ... or when its vectors reach this many bytes
  double compact_ratio = 0.5;        // rewrite a sealed segment once this share is deleted
  int build_threads = 0;             // index build threads (0: all cores)
  // Working memory a GPU_CAGRA build may hold at once (0: the GPU's free memory, or no limit on
  // the CPU); a segment that needs more is built from the store in streamed blocks.
  uint64_t build_memory = 0;
  size_t max_body = 64 << 20;        // larger requests are refused, as Milvus does
};

class Service {
 public:
  // Connects to the store, creates the bucket if missing, and reopens every collection in it
  // (replaying write-ahead logs, loading what was loaded, resuming index builds).
  static Result<std::unique_ptr<Service>> Open(Options options);
  ~Service();  // stops background work
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The http::Handler and http::ErrorFormatter for an http::Server.
  void Handle(http::Request& request, http::Response& response);
  static void FormatError(int status, std::string_view reason, std::string_view message,
                          http::Response& response);

  class Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skyway::vectordb
