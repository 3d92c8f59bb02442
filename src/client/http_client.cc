#include "client/http_client.h"

#include <curl/curl.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace skyway::client {
namespace {

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  uint64_t sent = 0;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  HttpResponse* r = t->response;
  bool error = r->status == 0 || r->status >= 300;  // error bodies always go to text
  if (t->request->sink == nullptr || error) {
    r->text.append(data, bytes);
    return bytes;
  }
  if (r->sink_bytes + bytes > t->request->sink_capacity) {
    r->sink_overflow = true;
    return 0;  // aborts the transfer
  }
  std::memcpy(t->request->sink + r->sink_bytes, data, bytes);
  r->sink_bytes += bytes;
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (StartsWith(line, "HTTP/")) {
    t->response->headers.clear();
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) t->response->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers[ToLower(Trim(line.substr(0, colon)))] =
        std::string(Trim(line.substr(colon + 1, line.find_last_not_of("\r\n") - colon)));
  }
  return size * n;
}

size_t OnRead(char* out, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t take = static_cast<size_t>(std::min<uint64_t>(size * n, t->request->body_size - t->sent));
  std::memcpy(out, t->request->body + t->sent, take);
  t->sent += take;
  return take;
}

std::string XmlField(const std::string& xml, const std::string& name) {
  size_t a = xml.find("<" + name + ">");
  size_t b = xml.find("</" + name + ">");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return xml.substr(a + name.size() + 2, b - a - name.size() - 2);
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

Status ErrorOf(const HttpResponse& r) {
  std::string code = XmlField(r.text, "Code");
  std::string message = XmlField(r.text, "Message");
  if (code.empty()) code = "HTTP" + std::to_string(r.status);
  if (message.empty()) message = "the server answered HTTP " + std::to_string(r.status);
  Code c = r.status == 404 ? Code::kNotFound : r.status == 403 ? Code::kPermissionDenied
                                                               : Code::kFailedPrecondition;
  return Status(c, code, message);
}

HttpClient::HttpClient(const Options& options) : options_(options) {
  static CurlGlobal global;
  std::string rest = options.endpoint.substr(options.endpoint.find("://") + 3);
  host_ = rest.substr(0, rest.find('/'));
}

HttpClient::~HttpClient() {
  for (void* c : idle_) curl_easy_cleanup(static_cast<CURL*>(c));
}

void* HttpClient::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  return curl_easy_init();
}

void HttpClient::Release(void* curl) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(curl);
}

Result<HttpResponse> HttpClient::Perform(const HttpRequest& request) {
  Status last;
  for (int attempt = 0; attempt <= options_.retries; attempt++) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    void* curl = Acquire();
    auto r = PerformOnce(request, curl);
    Release(curl);
    // Retried: connection errors and the 5xx a busy or restarting server sends. Not 501: it
    // is an answer (a declined direct path or an unsupported request).
    bool transient = !r.ok() || r->status == 500 || r->status == 502 || r->status == 503 ||
                     r->status == 504;
    if (!transient || (r.ok() && r->sink_overflow)) return r;
    last = r.ok() ? ErrorOf(*r) : r.status();
  }
  return last;
}

// SigV4 with the derived key kept for the day: deriving it is four HMACs per request.
void HttpClient::SignRequest(sigv4::RequestParts* parts) {
  int64_t now = NowNanos() / 1000000000;
  std::string amz_date = FormatAmzDate(now);
  sigv4::Scope scope{amz_date.substr(0, 8), options_.region, "s3"};
  std::string key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (key_date_ != scope.date) {
      signing_key_ = sigv4::SigningKey(options_.secret_key, scope);
      key_date_ = scope.date;
    }
    key = signing_key_;
  }
  sigv4::SignRequestWithKey(parts, options_.access_key, key, scope, amz_date);
}

Result<HttpResponse> HttpClient::PerformOnce(const HttpRequest& request, void* handle) {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_reset(curl);
  std::string path = "/";
  if (!request.bucket.empty()) path += request.bucket;
  if (!request.key.empty()) path += "/" + request.key;
  sigv4::RequestParts parts{request.method, path, request.query, {{"Host", host_}},
                            sigv4::kUnsignedPayload};
  if (request.sign_body) parts.payload_hash = Sha256Hex(std::string_view(request.body, request.body_size));
  for (const auto& h : request.headers) parts.headers.push_back(h);
  SignRequest(&parts);
  std::string url = options_.endpoint + UrlEncode(path, true);
  std::string query = sigv4::CanonicalQuery(request.query);
  if (!query.empty()) url += "?" + query;
  curl_slist* headers = nullptr;
  for (const auto& [n, v] : parts.headers) {
    if (!EqualsIgnoreCase(n, "host")) headers = curl_slist_append(headers, (n + ": " + v).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  HttpResponse response;
  Transfer t{&request, &response};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOBODY, request.method == "HEAD" ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (request.has_body) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && response.sink_overflow)) {
    return Status(Code::kIOError, "", std::string("HTTP request failed: ") + curl_easy_strerror(rc));
  }
  return response;
}

Result<HttpResponse> HttpClient::PlainGet(const std::string& path) {
  void* curl = Acquire();
  HttpRequest request;
  HttpResponse response;
  Transfer t{&request, &response};
  curl_easy_reset(static_cast<CURL*>(curl));
  std::string url = options_.endpoint + path;
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_URL, url.c_str());
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(static_cast<CURL*>(curl));
  Release(curl);
  if (rc != CURLE_OK) return Status(Code::kIOError, "", curl_easy_strerror(rc));
  return response;
}

}  // namespace skyway::client
