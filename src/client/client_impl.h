// Private to client/: the client's state, shared by the operation and transfer files.
#pragma once

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/http_client.h"
#include "directpath/directpath.h"

namespace skyway::client {

class DirectBuffer;

// An ETag without the double quotes S3 puts around it.
inline std::string Unquote(const std::string& etag) {
  return etag.size() >= 2 && etag.front() == '"' ? etag.substr(1, etag.size() - 2) : etag;
}

class Client::Impl {
 public:
  explicit Impl(Options options);

  // The registration socket, when the direct path is wanted, offered and not declined.
  std::optional<std::string> DirectSocket();
  // The token for [at, at + length) if it lies in one registered buffer of this client.
  std::optional<std::string> TokenFor(const char* at, uint64_t length);
  // Whether [at, at + length) touches registered device memory (which HTTP must not touch).
  bool OnDevice(const char* at, uint64_t length);
  void Forget(const DirectBuffer* buffer);
  // The server answered x-amz-rdma-reply: 501: use HTTP from now on.
  void Declined(const HttpResponse& response);

  // One GET or PUT (or UploadPart when upload_id is set), direct when the memory allows.
  Result<TransferResult> Get(const std::string& bucket, const std::string& key, char* dst,
                             uint64_t capacity, uint64_t offset, uint64_t length);
  Result<TransferResult> Put(const std::string& bucket, const std::string& key, const char* src,
                             uint64_t size, const std::string& content_type,
                             const std::string& upload_id, int part_number);

  Options options;
  HttpClient http;
  std::mutex mu;
  bool socket_checked = false;
  bool declined = false;
  std::string socket;
  std::vector<const DirectBuffer*> buffers;
};

}  // namespace skyway::client
