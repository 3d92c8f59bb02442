// http: an HTTP/1.1 server with keep-alive, streaming request bodies (Content-Length or chunked)
// and zero-copy file responses (sendfile). It knows nothing of S3: a Handler gets each request,
// an ErrorFormatter shapes the replies to requests that could not be parsed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/common.h"

namespace skyway::http {

struct Limits {
  size_t max_header_bytes = 64 * 1024;  // request line + headers
  size_t max_headers = 200;
  int idle_timeout_ms = 60'000;         // waiting for a request, or between body bytes
  size_t max_connections = 1024;
};

// Header list in arrival order; lookups ignore case.
class Headers {
 public:
  void Add(std::string name, std::string value);
  void Set(std::string name, std::string value);  // replaces every header of that name
  void Remove(std::string_view name);
  std::optional<std::string_view> Get(std::string_view name) const;
  size_t Count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return list_; }

 private:
  std::vector<std::pair<std::string, std::string>> list_;
};

// A source of raw bytes (a socket, or a string in tests and fuzzers).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads 1..n bytes; 0 means the peer closed. Errors: kAborted (timeout, reset).
  virtual Result<size_t> ReadSome(char* buf, size_t n) = 0;
};

// A request body, streamed. Read() returns 0 once the whole body has been read.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Errors: kAborted when the peer closes or stalls before the end, kInvalidArgument when the
  // chunked framing is malformed.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual bool finished() const = 0;
  // The declared length, when the body has a Content-Length.
  virtual std::optional<uint64_t> declared_length() const = 0;
};

// Body readers over a source; exposed for tests and fuzzers.
std::unique_ptr<BodyReader> MakeLengthBody(ByteSource* source, uint64_t length);
std::unique_ptr<BodyReader> MakeChunkedBody(ByteSource* source);

struct Request {
  std::string method;
  std::string target;     // as sent: path and query
  std::string raw_path;   // target before '?', still percent-encoded
  std::string path;       // raw_path decoded
  std::string raw_query;  // after '?'
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  int version_minor = 1;  // HTTP/1.x
  BodyReader* body = nullptr;
  std::string peer;       // "ip:port"

  // First value of a query parameter, if present ("?uploads" is present with value "").
  std::optional<std::string_view> Query(std::string_view name) const;
  // Reads the whole body, refusing more than max bytes (kResourceExhausted).
  Result<std::string> ReadBody(size_t max);
};

// Parses the request line and headers (everything before the blank line, without it).
// Errors: kInvalidArgument with reason "BadRequest" (malformed) or "NotImplemented" (an
// unsupported Transfer-Encoding).
Status ParseRequestHead(std::string_view head, const Limits& limits, Request* request);

// A response body: a sequence of in-memory and file pieces, sent in order.
struct BodyPiece {
  std::string data;                  // used when file is null
  std::shared_ptr<UniqueFd> file;    // sent with sendfile
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::vector<BodyPiece> body;
  bool close_connection = false;

  void SetBody(std::string data);
  void AddFile(std::shared_ptr<UniqueFd> file, uint64_t offset, uint64_t length);
  uint64_t BodyLength() const;
};

using Handler = std::function<void(Request&, Response&)>;
// Fills in the reply to a request that failed before the handler ran; status is the HTTP
// status, reason a short token (e.g. "BadRequest", "RequestHeaderSectionTooLarge").
using ErrorFormatter =
    std::function<void(int status, std::string_view reason, std::string_view message, Response&)>;

const char* StatusText(int status);

class Server {
 public:
  Server(Handler handler, ErrorFormatter errors, Limits limits = Limits());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on host:port (port 0 picks a free one).
  Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // Serves connections until Shutdown(); each connection gets its own thread.
  void Run();
  // Stops accepting, closes idle connections and waits for the connection threads. Safe to call
  // from a signal-watching thread.
  void Shutdown();

 private:
  void ServeConnection(int fd, std::string peer);

  Handler handler_;
  ErrorFormatter errors_;
  Limits limits_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<int> connections_;
  size_t active_threads_ = 0;
};

}  // namespace skyway::http
