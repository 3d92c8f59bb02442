// skyway_load: an HTTP/1.1 load generator for S3-style servers. Plain POSIX sockets, one
// keep-alive connection per thread, every request signed with SigV4 (servers that do not check
// auth, such as nginx, ignore the headers). Prints one JSON line with the results; exits 1 when
// any request failed (transport error or a status outside 2xx).
//
//   skyway_load get       URL [--size BYTES] [--connections N] [--duration S | --requests K]
//   skyway_load put       URL --size BYTES [--connections N] [--requests K | --duration S]
//   skyway_load small-get URL [--size BYTES] [--connections N] [--duration S | --requests K]
//   common: --access-key AK --secret-key SK (default $SKYWAY_ACCESS_KEY / $SKYWAY_SECRET_KEY)
//           --region R (us-east-1) --recv-buffer BYTES (4M)
// Sizes take K/M/G suffixes (powers of 1024). GB/s in the output is 1e9 bytes per second.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sigv4/sigv4.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace sigv4 = skyway::sigv4;

struct Options {
  std::string mode, url, host_header, raw_path, signed_path;
  int64_t size = -1;  // put: body size; get: expected Content-Length (-1: any)
  int connections = 1;
  double duration = 5;
  int64_t requests = 0;  // 0: run for `duration`
  std::string access_key, secret_key, region = "us-east-1";
  size_t recv_buffer = 4 << 20;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "skyway_load: %s\n", msg.c_str());
  std::exit(2);
}

int64_t ParseSize(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix = end;
  int64_t mult = 1;
  if (suffix == "K" || suffix == "KiB") mult = int64_t{1} << 10;
  else if (suffix == "M" || suffix == "MiB") mult = int64_t{1} << 20;
  else if (suffix == "G" || suffix == "GiB") mult = int64_t{1} << 30;
  else if (!suffix.empty() || end == s.c_str()) Die("bad size: " + s);
  return static_cast<int64_t>(v * static_cast<double>(mult));
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void ResolveUrl(Options* o) {
  const std::string scheme = "http://";
  if (o->url.rfind(scheme, 0) != 0) Die("only http:// URLs are supported: " + o->url);
  std::string rest = o->url.substr(scheme.size());
  size_t slash = rest.find('/');
  o->host_header = rest.substr(0, slash);
  o->raw_path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (o->raw_path.find('?') != std::string::npos) Die("query strings are not supported");
  o->signed_path = PercentDecode(o->raw_path);
  std::string host = o->host_header, port = "80";
  if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    Die("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
  o->addr_len = res->ai_addrlen;
  freeaddrinfo(res);
}

// One keep-alive connection with a receive buffer; requests are not pipelined.
class Conn {
 public:
  explicit Conn(const Options& o) : o_(o), buf_(std::max<size_t>(o.recv_buffer, 64 << 10)) {}
  ~Conn() { Close(); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    beg_ = end_ = 0;
  }

  // Sends one request and reads its response, discarding the body. Returns the HTTP status, or
  // -1 on a transport failure (with *err set); *body_bytes counts the body bytes received.
  int Exchange(const std::string& head, const char* body, size_t body_len, int64_t* body_bytes,
               std::string* err) {
    *body_bytes = 0;
    if (fd_ < 0 && !Connect(err)) return -1;
    if (!SendAll(head.data(), head.size(), body_len ? MSG_MORE : 0) ||
        !SendAll(body, body_len, 0)) {
      return Fail(err, "send");
    }
    std::string line;
    if (!ReadLine(&line)) return Fail(err, "reading status line");
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return Fail(err, "bad status: " + line);
    int status = std::atoi(line.c_str() + 9);
    int64_t content_length = -1;
    bool chunked = false, close = line.rfind("HTTP/1.0", 0) == 0;
    for (;;) {
      if (!ReadLine(&line)) return Fail(err, "reading headers");
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon), value = line.substr(colon + 1);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::transform(value.begin(), value.end(), value.begin(), ::tolower);
      if (name == "content-length") content_length = std::strtoll(value.c_str(), nullptr, 10);
      if (name == "transfer-encoding") chunked = value.find("chunked") != std::string::npos;
      if (name == "connection") close = value.find("close") != std::string::npos;
    }
    if (status == 204 || status == 304) {
      // these carry no body, whatever the headers say
    } else if (chunked) {
      for (;;) {
        if (!ReadLine(&line)) return Fail(err, "reading chunk size");
        int64_t n = std::strtoll(line.c_str(), nullptr, 16);
        if (n == 0) {
          while (ReadLine(&line) && !line.empty()) {}
          break;
        }
        if (!Discard(n, body_bytes) || !ReadLine(&line)) return Fail(err, "reading chunk");
      }
    } else if (content_length >= 0) {
      if (!Discard(content_length, body_bytes)) return Fail(err, "reading body");
    } else {
      Discard(INT64_MAX, body_bytes);  // until the server closes
      close = true;
    }
    if (close) Close();
    return status;
  }

 private:
  bool Connect(std::string* err) {
    fd_ = ::socket(o_.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&o_.addr), o_.addr_len) != 0) {
      *err = std::string("connect: ") + std::strerror(errno);
      Close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  int Fail(std::string* err, const std::string& what) {
    *err = what + (errno ? std::string(": ") + std::strerror(errno) : std::string());
    Close();
    return -1;
  }

  bool SendAll(const char* p, size_t n, int flags) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, flags | MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  // Receives more bytes after end_; false on EOF or error.
  bool Fill() {
    if (beg_ == end_) beg_ = end_ = 0;
    if (end_ == buf_.size()) {
      if (beg_ == 0) return false;  // a header line longer than the buffer
      std::memmove(buf_.data(), buf_.data() + beg_, end_ - beg_);
      end_ -= beg_;
      beg_ = 0;
    }
    for (;;) {
      errno = 0;
      ssize_t r = ::recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      end_ += static_cast<size_t>(r);
      return true;
    }
  }

  // A line without its CRLF.
  bool ReadLine(std::string* line) {
    size_t scanned = beg_;
    for (;;) {
      const char* nl = static_cast<const char*>(
          std::memchr(buf_.data() + scanned, '\n', end_ - scanned));
      if (nl != nullptr) {
        size_t len = static_cast<size_t>(nl - (buf_.data() + beg_));
        line->assign(buf_.data() + beg_, len);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        beg_ += len + 1;
        return true;
      }
      size_t offset = end_ - beg_;
      if (!Fill()) return false;
      scanned = beg_ + offset;
    }
  }

  // Reads and drops n bytes (the buffered ones first, then straight into the buffer).
  bool Discard(int64_t n, int64_t* counted) {
    size_t have = std::min<size_t>(end_ - beg_, static_cast<uint64_t>(n));
    beg_ += have;
    n -= static_cast<int64_t>(have);
    *counted += static_cast<int64_t>(have);
    while (n > 0) {
      errno = 0;
      ssize_t r = ::recv(fd_, buf_.data(), std::min<uint64_t>(buf_.size(), n), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      n -= r;
      *counted += r;
    }
    return true;
  }

  const Options& o_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t beg_ = 0, end_ = 0;
};

struct Totals {
  std::mutex mu;
  int64_t requests = 0, errors = 0, bytes = 0;
  std::vector<double> latencies_ms;
  std::string first_error;
};

void Worker(const Options& o, const std::vector<char>& body, Clock::time_point deadline,
            std::atomic<int64_t>* issued, Totals* totals) {
  Conn conn(o);
  const bool put = o.mode == "put";
  int64_t requests = 0, errors = 0, bytes = 0;
  std::vector<double> latencies;
  std::string first_error;
  for (;;) {
    if (o.requests > 0 ? issued->fetch_add(1) >= o.requests : Clock::now() >= deadline) break;
    sigv4::RequestParts r{put ? "PUT" : "GET", o.signed_path, {}, {{"host", o.host_header}},
                          put ? sigv4::kUnsignedPayload : sigv4::kEmptySha256};
    if (put) r.headers.emplace_back("content-length", std::to_string(body.size()));
    sigv4::SignRequest(&r, o.access_key, o.secret_key, o.region, std::time(nullptr));
    std::string head = r.method + " " + o.raw_path + " HTTP/1.1\r\n";
    for (const auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";

    auto start = Clock::now();
    int64_t received = 0;
    std::string err;
    int status = conn.Exchange(head, body.data(), body.size(), &received, &err);
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    ++requests;
    bool ok = status >= 200 && status < 300;
    if (ok && !put && o.size >= 0 && received != o.size) {
      ok = false;
      err = "body of " + std::to_string(received) + " bytes, expected " + std::to_string(o.size);
    }
    if (!ok) {
      ++errors;
      if (first_error.empty()) first_error = status < 0 ? err : "HTTP " + std::to_string(status);
      if (status < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    bytes += put ? static_cast<int64_t>(body.size()) : received;
  }
  std::lock_guard<std::mutex> lock(totals->mu);
  totals->requests += requests;
  totals->errors += errors;
  totals->bytes += bytes;
  totals->latencies_ms.insert(totals->latencies_ms.end(), latencies.begin(), latencies.end());
  if (totals->first_error.empty()) totals->first_error = first_error;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out;
}

void Usage() {
  std::fprintf(stderr,
               "usage: skyway_load get|put|small-get URL [--size BYTES] [--connections N]\n"
               "         [--duration S] [--requests K] [--access-key AK] [--secret-key SK]\n"
               "         [--region R] [--recv-buffer BYTES]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Usage();
  Options o;
  o.mode = argv[1];
  o.url = argv[2];
  if (o.mode != "get" && o.mode != "put" && o.mode != "small-get") Usage();
  if (const char* v = std::getenv("SKYWAY_ACCESS_KEY")) o.access_key = v;
  if (const char* v = std::getenv("SKYWAY_SECRET_KEY")) o.secret_key = v;
  for (int i = 3; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) Die("missing value for " + flag);
    std::string v = argv[i + 1];
    if (flag == "--size") o.size = ParseSize(v);
    else if (flag == "--connections") o.connections = std::max(1, std::atoi(v.c_str()));
    else if (flag == "--duration") o.duration = std::atof(v.c_str());
    else if (flag == "--requests") o.requests = std::atoll(v.c_str());
    else if (flag == "--access-key") o.access_key = v;
    else if (flag == "--secret-key") o.secret_key = v;
    else if (flag == "--region") o.region = v;
    else if (flag == "--recv-buffer") o.recv_buffer = static_cast<size_t>(ParseSize(v));
    else Die("unknown flag: " + flag);
  }
  if (o.mode == "put" && o.size < 0) Die("put needs --size");
  ResolveUrl(&o);

  std::vector<char> body;
  if (o.mode == "put") {  // incompressible, pregenerated
    body.resize(static_cast<size_t>(o.size));
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i + 8 <= body.size(); i += 8) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      std::memcpy(body.data() + i, &x, 8);
    }
  }

  Totals totals;
  std::atomic<int64_t> issued{0};
  double cpu0 = CpuSeconds();
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(o.duration));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back(Worker, std::cref(o), std::cref(body), deadline, &issued, &totals);
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = CpuSeconds() - cpu0;

  auto& lat = totals.latencies_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    if (lat.empty()) return 0.0;
    return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))];
  };
  int64_t ok = totals.requests - totals.errors;
  std::printf(
      "{\"mode\":\"%s\",\"url\":\"%s\",\"connections\":%d,\"size\":%lld,\"requests\":%lld,"
      "\"errors\":%lld,\"bytes\":%lld,\"seconds\":%.4f,\"gb_per_s\":%.4f,\"req_per_s\":%.1f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"client_cpu_s\":%.3f,\"ok\":%s,\"first_error\":\"%s\"}\n",
      o.mode.c_str(), JsonEscape(o.url).c_str(), o.connections, static_cast<long long>(o.size),
      static_cast<long long>(totals.requests), static_cast<long long>(totals.errors),
      static_cast<long long>(totals.bytes), seconds, static_cast<double>(totals.bytes) / seconds / 1e9,
      static_cast<double>(ok) / seconds, pct(0.50), pct(0.99), cpu,
      totals.errors == 0 ? "true" : "false", JsonEscape(totals.first_error).c_str());
  if (totals.errors > 0) {
    std::fprintf(stderr, "skyway_load: %lld of %lld requests failed; first: %s\n",
                 static_cast<long long>(totals.errors), static_cast<long long>(totals.requests),
                 totals.first_error.c_str());
    return 1;
  }
  return 0;
}
