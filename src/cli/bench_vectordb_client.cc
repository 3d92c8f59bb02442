// `skyway bench vectordb`: the keep-alive HTTP/1.1 client it drives the REST API with, and the
// `skyway vectordb` child process it measures.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/bench_vectordb.h"

extern char** environ;

namespace skyway::cli::vdbbench {
namespace {

constexpr int kAnswerTimeoutS = 600;      // an insert of 64 MiB or a slow build poll still fits
constexpr size_t kReadChunk = 64 * 1024;  // on the stack; most answers fit
constexpr size_t kMaxHead = 64 * 1024;

// Parses "Content-Length" and "Connection" out of a response head; false when malformed.
bool ParseHead(std::string_view head, int* status, size_t* length, bool* closes) {
  if (!StartsWith(head, "HTTP/1.") || head.size() < 12) return false;
  auto code = ParseUint64(head.substr(9, 3));
  if (!code) return false;
  *status = static_cast<int>(*code);
  bool have_length = false;
  *closes = head[7] == '0';
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    size_t end = head.find("\r\n", at + 2);
    std::string_view line = head.substr(at + 2, end == std::string_view::npos ? end : end - at - 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon), value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "Content-Length")) {
        auto n = ParseUint64(value);
        if (!n) return false;
        *length = *n;
        have_length = true;
      } else if (EqualsIgnoreCase(name, "Connection")) {
        *closes = EqualsIgnoreCase(value, "close");
      }
    }
    at = end;
  }
  return have_length;
}

}  // namespace

// ---- RestClient ------------------------------------------------------------------------------

Result<std::unique_ptr<RestClient>> RestClient::Connect(const std::string& endpoint,
                                                        const std::string& access_key,
                                                        const std::string& secret_key) {
  std::string_view rest = endpoint;
  if (!StartsWith(rest, "http://")) {
    return Status::Invalid("endpoint must be http://HOST:PORT: " + endpoint);
  }
  rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  std::unique_ptr<RestClient> c(new RestClient());
  c->host_ = std::string(colon == std::string_view::npos ? rest : rest.substr(0, colon));
  c->port_ = colon == std::string_view::npos ? "80" : std::string(rest.substr(colon + 1));
  if (c->host_.size() > 2 && c->host_.front() == '[')
    c->host_ = c->host_.substr(1, c->host_.size() - 2);
  if (c->host_.empty() || !ParseUint64(c->port_)) {
    return Status::Invalid("endpoint must be http://HOST:PORT: " + endpoint);
  }
  c->authorization_ = "Bearer " + access_key + ":" + secret_key;
  RETURN_IF_ERROR(c->Open());
  return c;
}

RestClient::~RestClient() {
  if (fd_ >= 0) close(fd_);
}

Status RestClient::Open() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
  server_closes_ = false;
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found);
  if (rc != 0) return Status::IOError("resolve " + host_ + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
  int err = 0;
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      timeval timeout{kAnswerTimeoutS, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      fd_ = fd;
      return Status::Ok();
    }
    err = errno;
    close(fd);
  }
  return Status::FromErrno("connect " + host_ + ":" + port_, err);
}

Status RestClient::SendRequest(std::string_view path, const std::vector<std::string_view>& pieces) {
  size_t length = 0;
  for (auto p : pieces) length += p.size();
  std::string head;
  head.reserve(256);
  head.append("POST /v2/vectordb/").append(path).append(" HTTP/1.1\r\nHost: ");
  head.append(host_).append(":").append(port_).append("\r\nAuthorization: ");
  head.append(authorization_).append("\r\nContent-Type: application/json\r\nContent-Length: ");
  head.append(std::to_string(length)).append("\r\n\r\n");
  std::vector<iovec> iov;
  iov.push_back({head.data(), head.size()});
  for (auto p : pieces) {
    if (!p.empty()) iov.push_back({const_cast<char*>(p.data()), p.size()});
  }
  size_t first = 0;
  while (first < iov.size()) {
    msghdr msg{};
    msg.msg_iov = &iov[first];
    msg.msg_iovlen = std::min<size_t>(iov.size() - first, IOV_MAX);
    ssize_t sent = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return Status::Aborted("connection closed by the server");
    }
    if (sent < 0) return Status::FromErrno("send", errno);
    auto n = static_cast<size_t>(sent);
    while (first < iov.size() && n >= iov[first].iov_len) n -= iov[first++].iov_len;
    if (n > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + n;
      iov[first].iov_len -= n;
    }
  }
  return Status::Ok();
}

Status RestClient::ReadAnswer(std::string* answer) {
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHead) return Status::IOError("response head too large");
    size_t old = buffer_.size();
    char chunk[kReadChunk];
    ssize_t got = read(fd_, chunk, sizeof(chunk));
    if (got > 0) buffer_.append(chunk, static_cast<size_t>(got));
    if (got < 0 && errno == EINTR) continue;
    if ((got == 0 || (got < 0 && errno == ECONNRESET)) && old == 0) {
      return Status::Aborted("connection closed by the server");
    }
    if (got == 0) return Status::IOError("connection closed inside a response head");
    if (got < 0) return Status::FromErrno("read response", errno);
  }
  int status = 0;
  size_t length = 0;
  if (!ParseHead(std::string_view(buffer_).substr(0, head_end + 2), &status, &length,
                 &server_closes_)) {
    return Status::IOError("malformed response head: " + buffer_.substr(0, 200));
  }
  size_t body = head_end + 4, have = std::min(length, buffer_.size() - body);
  answer->assign(buffer_, body, have);
  buffer_.erase(0, body + have);
  answer->resize(length);
  while (have < length) {
    ssize_t got = read(fd_, answer->data() + have, length - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::FromErrno("read response body", errno);
    if (got == 0) return Status::IOError("connection closed inside a response body");
    have += static_cast<size_t>(got);
  }
  if (status != 200) {
    return Status::IOError("HTTP " + std::to_string(status) + ": " + answer->substr(0, 300));
  }
  return Status::Ok();
}

Status RestClient::Post(std::string_view path, const std::vector<std::string_view>& pieces,
                        std::string* answer) {
  bool fresh = false;
  if (fd_ < 0 || server_closes_) {
    RETURN_IF_ERROR(Open());
    fresh = true;
  }
  Status st = SendRequest(path, pieces);
  if (st.ok()) st = ReadAnswer(answer);
  // A keep-alive connection the server closed while idle (kAborted: no byte of an answer came
  // back): one retry on a new one.
  if (!st.ok() && !fresh && st.code() == Code::kAborted) {
    RETURN_IF_ERROR(Open());
    st = SendRequest(path, pieces);
    if (st.ok()) st = ReadAnswer(answer);
  }
  if (!st.ok()) {
    close(fd_);
    fd_ = -1;
  }
  return st;
}

Status RestClient::Call(std::string_view path, const std::vector<std::string_view>& pieces,
                        std::string* answer) {
  RETURN_IF_ERROR(Post(path, pieces, answer));
  Status st = CheckMilvusCode(*answer);
  if (!st.ok()) return Status::Internal(std::string(path) + ": " + st.message());
  return Status::Ok();
}

Status CheckMilvusCode(std::string_view body) {
  // The server writes {"code":N,...} first; anything else goes through a full parse.
  std::string_view start = body.substr(0, 32);
  if (StartsWith(start, "{\"code\":0,") || start == "{\"code\":0}") return Status::Ok();
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("code")) {
    return Status::Internal("not a Milvus answer: " + std::string(body.substr(0, 300)));
  }
  if (json["code"] == 0) return Status::Ok();
  auto it = json.find("message");
  std::string message = it != json.end() && it->is_string() ? it->get<std::string>() : "";
  return Status::Internal("milvus code " + json["code"].dump() + ": " + message);
}

// ---- request bodies --------------------------------------------------------------------------

void AppendPixels(const float* values, size_t dim, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < dim; i++) {
    if (i) out->push_back(',');
    auto v = static_cast<unsigned>(std::clamp(values[i], 0.0f, 255.0f));
    if (v >= 100) out->push_back(static_cast<char>('0' + v / 100));
    if (v >= 10) out->push_back(static_cast<char>('0' + v / 10 % 10));
    out->push_back(static_cast<char>('0' + v % 10));
  }
  out->push_back(']');
}

std::string InsertRows(const std::vector<float>& vectors, size_t dim,
                       const std::vector<uint8_t>& labels, size_t first, size_t count) {
  std::string out;
  out.reserve(count * (dim * 3 + 48));
  out.push_back('[');
  for (size_t row = first; row < first + count; row++) {
    if (row != first) out.push_back(',');
    out.append("{\"id\":").append(std::to_string(row)).append(",\"vec\":");
    AppendPixels(&vectors[row * dim], dim, &out);
    out.append(",\"label\":").append(std::to_string(row < labels.size() ? labels[row] : 0));
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string InsertPrefix(const std::string& collection) {
  return "{\"collectionName\":\"" + collection + "\",\"data\":";
}

std::string InsertSuffix() { return ",\"dbName\":\"default\"}"; }

std::string SearchBody(const std::string& collection, const float* query, size_t dim, int limit,
                       int ef) {
  std::string out = "{\"collectionName\":\"" + collection + "\",\"data\":[";
  AppendPixels(query, dim, &out);
  out += "],\"annsField\":\"vec\",\"limit\":" + std::to_string(limit) +
         ",\"searchParams\":{\"metricType\":\"L2\",\"params\":{\"ef\":" + std::to_string(ef) +
         "}},\"dbName\":\"default\"}";
  return out;
}

std::string CreateCollectionBody(const std::string& collection, size_t dim) {
  nlohmann::ordered_json body = {
      {"collectionName", collection},
      {"schema",
       {{"autoID", false},
        {"enableDynamicField", false},
        {"fields",
         {{{"fieldName", "id"}, {"dataType", "Int64"}, {"isPrimary", true}},
          {{"fieldName", "vec"},
           {"dataType", "FloatVector"},
           {"elementTypeParams", {{"dim", dim}}}},
          {{"fieldName", "label"}, {"dataType", "Int64"}}}}}},
      {"dbName", "default"}};
  return body.dump();
}

std::string CreateIndexBody(const std::string& collection, int m, int ef_construction) {
  nlohmann::ordered_json body = {{"collectionName", collection},
                                 {"indexParams",
                                  {{{"fieldName", "vec"},
                                    {"indexName", "vec_idx"},
                                    {"metricType", "L2"},
                                    {"params",
                                     {{"index_type", "HNSW"},
                                      {"M", std::to_string(m)},
                                      {"efConstruction", std::to_string(ef_construction)}}}}}},
                                 {"dbName", "default"}};
  return body.dump();
}

std::string CollectionBody(const std::string& collection, bool with_index) {
  nlohmann::ordered_json body = {{"collectionName", collection}};
  if (with_index) body["indexName"] = "vec_idx";
  body["dbName"] = "default";
  return body.dump();
}

}  // namespace skyway::cli::vdbbench
