// Private to client/: one signed S3 request over libcurl, with a pool of keep-alive handles and
// retries.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/client.h"
#include "sigv4/sigv4.h"

namespace skyway::client {

struct HttpRequest {
  std::string method = "GET";
  std::string bucket;  // empty: service level
  std::string key;
  sigv4::Pairs query;
  sigv4::Pairs headers;           // extra headers, all signed
  const char* body = nullptr;     // sent when has_body
  uint64_t body_size = 0;
  bool has_body = false;          // sends Content-Length (0 too) and the body
  bool sign_body = false;         // SHA-256 of the body as payload hash (else UNSIGNED-PAYLOAD)
  char* sink = nullptr;           // response body goes here when set (else into text)
  uint64_t sink_capacity = 0;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string text;                            // the body when the request had no sink
  uint64_t sink_bytes = 0;
  bool sink_overflow = false;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(const Options& options);
  ~HttpClient();
  // Sends the request, retrying connection errors and 5xx. A non-2xx reply is returned as a
  // response, not an error: see ErrorOf.
  Result<HttpResponse> Perform(const HttpRequest& request);
  // An unsigned GET of a path on the endpoint (for /_skyway/direct).
  Result<HttpResponse> PlainGet(const std::string& path);

 private:
  Result<HttpResponse> PerformOnce(const HttpRequest& request, void* curl);
  void SignRequest(sigv4::RequestParts* parts);
  void* Acquire();
  void Release(void* curl);

  Options options_;
  std::string host_;  // Host header value: host[:port] of the endpoint
  std::mutex mu_;
  std::vector<void*> idle_;
  std::string key_date_;     // the day signing_key_ was derived for
  std::string signing_key_;
};

// The status for a reply that is not a success: the reason is its S3 error code.
Status ErrorOf(const HttpResponse& response);

}  // namespace skyway::client
