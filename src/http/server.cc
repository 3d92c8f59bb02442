// The socket side: accept loop, one thread per connection, keep-alive, sendfile responses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "http/http.h"

namespace skyway::http {
namespace {

std::condition_variable g_threads_done;

class Connection : public ByteSource {
 public:
  explicit Connection(int fd) : fd_(fd) {}

  Result<size_t> ReadSome(char* out, size_t n) override {
    if (pos_ < buf_.size()) {
      size_t take = std::min(n, buf_.size() - pos_);
      std::memcpy(out, buf_.data() + pos_, take);
      pos_ += take;
      return take;
    }
    RETURN_IF_ERROR(SendPendingContinue());
    return Recv(out, n);
  }

  // Reads the next request head (without its blank line). nullopt: the peer closed cleanly
  // between requests. Errors carry the HTTP status to answer with in reason.
  Result<std::optional<std::string>> ReadHead(size_t limit) {
    buf_.erase(0, pos_);
    pos_ = 0;
    continue_pending_ = false;
    size_t scanned = 0;
    for (;;) {
      size_t end = buf_.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
      if (end != std::string::npos && end > limit) {
        return Status(Code::kResourceExhausted, "RequestHeaderSectionTooLarge",
                      "the request line and headers are larger than allowed");
      }
      if (end != std::string::npos) {
        std::string head = buf_.substr(0, end);
        pos_ = end + 4;
        return std::optional<std::string>(std::move(head));
      }
      scanned = buf_.size();
      if (buf_.size() > limit) {
        return Status(Code::kResourceExhausted, "RequestHeaderSectionTooLarge",
                      "the request line and headers are larger than allowed");
      }
      char tmp[16 * 1024];
      ASSIGN_OR_RETURN(size_t got, Recv(tmp, sizeof(tmp)));
      if (got == 0) {
        if (buf_.empty()) return std::optional<std::string>();
        return Status::Aborted("connection closed inside a request head");
      }
      buf_.append(tmp, got);
    }
  }

  void ExpectContinue() { continue_pending_ = true; }
  // Sends the interim 100 Continue if the client asked for it and has not had it: a body that
  // was complete without reading (Content-Length: 0) still gets one, since some clients
  // (botocore) otherwise misread the next response on the connection.
  Status SendPendingContinue() {
    if (!continue_pending_) return Status::Ok();
    continue_pending_ = false;
    static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    return SendAll(kContinue, sizeof(kContinue) - 1);
  }

  // more: further bytes follow at once (a file body), so the kernel may hold this segment back
  // and send head and body together.
  Status SendAll(const char* data, size_t n, bool more = false) {
    while (n > 0) {
      ssize_t w = ::send(fd_, data, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("send", errno);
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }

  Status SendFile(int file_fd, uint64_t offset, uint64_t length) {
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, 1 << 30));
      ssize_t w = ::sendfile(fd_, file_fd, &off, chunk);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("sendfile", errno);
      }
      if (w == 0) return Status::IOError("sendfile: file shorter than its metadata");
      length -= static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }

 private:
  Result<size_t> Recv(char* out, size_t n) {
    for (;;) {
      ssize_t r = ::recv(fd_, out, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Aborted("read timed out");
      return Status::FromErrno("recv", errno);
    }
  }

  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  bool continue_pending_ = false;
};

bool WantsKeepAlive(const Request& r) {
  auto conn = r.headers.Get("connection");
  if (r.version_minor == 0) return conn && EqualsIgnoreCase(*conn, "keep-alive");
  return !(conn && EqualsIgnoreCase(*conn, "close"));
}

bool MayHaveBody(int status) { return status >= 200 && status != 204 && status != 304; }

Status WriteResponse(Connection* conn, const Request* req, Response* resp) {
  bool head_only = req != nullptr && req->method == "HEAD";
  if (MayHaveBody(resp->status) && !head_only) {
    resp->headers.Set("Content-Length", std::to_string(resp->BodyLength()));
  } else if (!resp->headers.Get("content-length") && MayHaveBody(resp->status)) {
    resp->headers.Set("Content-Length", "0");
  }
  std::string head = "HTTP/1.1 " + std::to_string(resp->status) + " " + StatusText(resp->status) +
                     "\r\n";
  for (const auto& [name, value] : resp->headers.all()) head += name + ": " + value + "\r\n";
  head += "Date: " + FormatHttpDate(NowNanos() / 1000000000) + "\r\nServer: Skyway\r\n";
  if (resp->close_connection) head += "Connection: close\r\n";
  head += "\r\n";
  if (head_only || !MayHaveBody(resp->status)) return conn->SendAll(head.data(), head.size());
  for (const auto& piece : resp->body) {
    if (piece.file) {
      RETURN_IF_ERROR(conn->SendAll(head.data(), head.size(), /*more=*/true));
      head.clear();
      RETURN_IF_ERROR(conn->SendFile(piece.file->get(), piece.offset, piece.length));
    } else {
      head += piece.data;
      if (head.size() >= 256 * 1024) {
        RETURN_IF_ERROR(conn->SendAll(head.data(), head.size()));
        head.clear();
      }
    }
  }
  return conn->SendAll(head.data(), head.size());
}

std::string PeerName(const sockaddr_in& addr) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace

Server::Server(Handler handler, ErrorFormatter errors, Limits limits)
    : handler_(std::move(handler)), errors_(std::move(errors)), limits_(limits) {}

Server::~Server() {
  Shutdown();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status Server::Listen(const std::string& host, uint16_t port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::FromErrno("socket", errno);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Status::Invalid("not an IPv4 address: " + host);
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::FromErrno("bind " + host + ":" + std::to_string(port), errno);
  }
  if (::listen(listen_fd_, 512) != 0) return Status::FromErrno("listen", errno);
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  return Status::Ok();
}

void Server::Run() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || connections_.size() >= limits_.max_connections) {
      ::close(fd);
      continue;
    }
    connections_.insert(fd);
    active_threads_++;
    std::thread([this, fd, peer = PeerName(addr)] { ServeConnection(fd, peer); }).detach();
  }
}

void Server::Shutdown() {
  stopping_ = true;
  std::unique_lock<std::mutex> lock(mu_);
  for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  g_threads_done.wait(lock, [this] { return active_threads_ == 0; });
}

void Server::ServeConnection(int fd, std::string peer) {
  timeval tv{limits_.idle_timeout_ms / 1000, (limits_.idle_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  Connection conn(fd);
  while (!stopping_) {
    auto head = conn.ReadHead(limits_.max_header_bytes);
    Request req;
    Response resp;
    Status st = head.ok() ? Status::Ok() : head.status();
    if (st.ok() && !head->has_value()) break;  // clean close between requests
    if (st.ok()) st = ParseRequestHead(**head, limits_, &req);
    if (!st.ok()) {
      if (st.code() == Code::kAborted || st.code() == Code::kIOError) break;
      int status = st.reason() == "NotImplemented" ? 501 : 400;
      errors_(status, st.reason().empty() ? "BadRequest" : st.reason(), st.message(), resp);
      resp.status = status;
      resp.close_connection = true;
      WriteResponse(&conn, nullptr, &resp);
      break;
    }
    req.peer = peer;
    std::unique_ptr<BodyReader> body;
    if (req.headers.Get("transfer-encoding")) {
      body = MakeChunkedBody(&conn);
    } else {
      body = MakeLengthBody(&conn, ParseUint64(req.headers.Get("content-length").value_or("0"))
                                       .value_or(0));
    }
    req.body = body.get();
    auto expect = req.headers.Get("expect");
    if (expect && EqualsIgnoreCase(*expect, "100-continue")) conn.ExpectContinue();
    try {
      handler_(req, resp);
    } catch (const std::exception& e) {
      LogError(std::string("handler threw: ") + e.what());
      resp = Response();
      errors_(500, "InternalError", "internal error", resp);
      resp.status = 500;
      resp.close_connection = true;
    }
    if (!body->finished() || !WantsKeepAlive(req)) resp.close_connection = true;
    if (body->finished() && !conn.SendPendingContinue().ok()) break;
    if (!WriteResponse(&conn, &req, &resp).ok() || resp.close_connection) break;
  }
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(fd);
  ::close(fd);
  if (--active_threads_ == 0) g_threads_done.notify_all();
}

}  // namespace skyway::http
