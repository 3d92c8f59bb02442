// Bucket and object operations, and the choice between the direct path and HTTP.
#include "client/client.h"

#include <sys/mman.h>

#include <pugixml.hpp>

#include "client/client_impl.h"

namespace skyway::client {
namespace {

class PlainBuffer : public Buffer {
 public:
  static Result<std::unique_ptr<Buffer>> Create(uint64_t size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return Status::FromErrno("mmap", errno);
    return std::unique_ptr<Buffer>(new PlainBuffer(static_cast<char*>(p), size));
  }
  ~PlainBuffer() override { ::munmap(data_, size_); }
  char* data() const override { return data_; }
  uint64_t size() const override { return size_; }
  bool registered() const override { return false; }

 private:
  PlainBuffer(char* data, uint64_t size) : data_(data), size_(size) {}
  char* data_;
  uint64_t size_;
};

}  // namespace

// ---- Impl: direct-path bookkeeping -------------------------------------------------------------

class DirectBuffer : public Buffer {
 public:
  DirectBuffer(Client::Impl* owner, std::unique_ptr<directpath::RegisteredBuffer> region)
      : owner_(owner), region_(std::move(region)) {}
  ~DirectBuffer() override { owner_->Forget(this); }
  char* data() const override { return region_->data(); }
  uint64_t size() const override { return region_->size(); }
  bool registered() const override { return true; }
  bool on_device() const { return region_->on_device(); }
  std::string Token(const char* at, uint64_t length) const {
    return region_->Token(static_cast<uint64_t>(at - region_->data()), length);
  }

 private:
  Client::Impl* owner_;
  std::unique_ptr<directpath::RegisteredBuffer> region_;
};

Client::Impl::Impl(Options o) : options(std::move(o)), http(options) {}

std::optional<std::string> Client::Impl::DirectSocket() {
  std::lock_guard<std::mutex> lock(mu);
  if (!options.direct || declined) return std::nullopt;
  if (!socket_checked) {
    socket_checked = true;
    if (!options.direct_socket.empty()) {
      socket = options.direct_socket;
    } else if (auto r = http.PlainGet("/_skyway/direct"); r.ok() && r->status == 200) {
      socket = std::string(Trim(r->text.substr(0, r->text.find('\n'))));
    }
  }
  if (socket.empty()) return std::nullopt;
  return socket;
}

void Client::Impl::Forget(const DirectBuffer* buffer) {
  std::lock_guard<std::mutex> lock(mu);
  buffers.erase(std::remove(buffers.begin(), buffers.end(), buffer), buffers.end());
}

std::optional<std::string> Client::Impl::TokenFor(const char* at, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu);
  if (declined) return std::nullopt;
  for (const DirectBuffer* b : buffers) {
    if (at >= b->data() && length <= b->size() && at - b->data() <= static_cast<int64_t>(b->size() - length)) {
      return b->Token(at, length);
    }
  }
  return std::nullopt;
}

bool Client::Impl::OnDevice(const char* at, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu);
  for (const DirectBuffer* b : buffers) {
    if (b->on_device() && at < b->data() + b->size() && b->data() < at + length) return true;
  }
  return false;
}

void Client::Impl::Declined(const HttpResponse& r) {
  std::lock_guard<std::mutex> lock(mu);
  if (!declined) LogWarn("direct path declined by the server (" + ErrorOf(r).message() + "); using HTTP");
  declined = true;
}

// ---- Client ---------------------------------------------------------------------------------

Result<std::unique_ptr<Client>> Client::Create(Options options) {
  if (options.endpoint.find("://") == std::string::npos) return Status::Invalid("the endpoint must be a URL");
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (options.access_key.empty() || options.secret_key.empty()) return Status::Invalid("credentials are required");
  if (options.part_size < (5 << 20)) return Status::Invalid("part_size must be at least 5 MiB");
  if (options.parallelism < 1) options.parallelism = 1;
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(options))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Buffer>> Client::Allocate(uint64_t size) {
  if (auto socket = impl_->DirectSocket()) {
    const Options& o = impl_->options;
    auto region = directpath::RegisteredBuffer::Create(*socket, o.access_key, o.secret_key, o.region, size);
    if (region.ok()) {
      auto buffer = std::make_unique<DirectBuffer>(impl_.get(), std::move(region).value());
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->buffers.push_back(buffer.get());
      return std::unique_ptr<Buffer>(std::move(buffer));
    }
    LogWarn("direct path unavailable (" + region.status().message() + "); using HTTP");
  }
  return PlainBuffer::Create(size);
}

Result<std::unique_ptr<Buffer>> Client::RegisterDevice(void* device_ptr, uint64_t size) {
  auto socket = impl_->DirectSocket();
  if (!socket) {
    return Status(Code::kFailedPrecondition, "", "device memory needs the direct path, which is off or declined");
  }
  const Options& o = impl_->options;
  ASSIGN_OR_RETURN(auto region, directpath::RegisteredBuffer::CreateDevice(
                                    *socket, o.access_key, o.secret_key, o.region, device_ptr, size));
  auto buffer = std::make_unique<DirectBuffer>(impl_.get(), std::move(region));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->buffers.push_back(buffer.get());
  return std::unique_ptr<Buffer>(std::move(buffer));
}

bool Client::direct_available() { return impl_->DirectSocket().has_value(); }

Status Client::CreateBucket(const std::string& bucket) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = bucket;
  req.has_body = true;
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  return r.status == 200 ? Status::Ok() : ErrorOf(r);
}

Status Client::DeleteBucket(const std::string& bucket) {
  HttpRequest req;
  req.method = "DELETE";
  req.bucket = bucket;
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  return r.status == 204 || r.status == 200 ? Status::Ok() : ErrorOf(r);
}

Status Client::Delete(const std::string& bucket, const std::string& key) {
  HttpRequest req;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  return r.status == 204 || r.status == 200 ? Status::Ok() : ErrorOf(r);
}

Result<std::vector<std::string>> Client::ListBuckets() {
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(HttpRequest()));
  if (r.status != 200) return ErrorOf(r);
  pugi::xml_document doc;
  if (!doc.load_string(r.text.c_str())) return Status::Internal("malformed ListBuckets reply");
  std::vector<std::string> out;
  for (auto b : doc.document_element().child("Buckets").children("Bucket")) {
    out.emplace_back(b.child("Name").text().get());
  }
  return out;
}

Result<ListPage> Client::List(const std::string& bucket, const std::string& prefix,
                              const std::string& delimiter, const std::string& token, int max_keys) {
  HttpRequest req;
  req.bucket = bucket;
  req.query = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}};
  if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
  if (!delimiter.empty()) req.query.emplace_back("delimiter", delimiter);
  if (!token.empty()) req.query.emplace_back("continuation-token", token);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  if (r.status != 200) return ErrorOf(r);
  pugi::xml_document doc;
  if (!doc.load_string(r.text.c_str())) return Status::Internal("malformed ListObjectsV2 reply");
  pugi::xml_node root = doc.document_element();
  ListPage page;
  page.truncated = std::string_view(root.child("IsTruncated").text().get()) == "true";
  page.next_token = root.child("NextContinuationToken").text().get();
  for (auto c : root.children("Contents")) {
    ObjectInfo info;
    info.key = c.child("Key").text().get();
    info.size = ParseUint64(c.child("Size").text().get()).value_or(0);
    info.etag = Unquote(c.child("ETag").text().get());
    info.last_modified = c.child("LastModified").text().get();
    page.objects.push_back(std::move(info));
  }
  for (auto p : root.children("CommonPrefixes")) page.common_prefixes.emplace_back(p.child("Prefix").text().get());
  return page;
}

Result<ObjectInfo> Client::Stat(const std::string& bucket, const std::string& key) {
  HttpRequest req;
  req.method = "HEAD";
  req.bucket = bucket;
  req.key = key;
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  if (r.status != 200) {
    if (r.status == 404) return Status(Code::kNotFound, "NoSuchKey", "no such object: " + bucket + "/" + key);
    return ErrorOf(r);
  }
  ObjectInfo info;
  info.key = key;
  info.size = ParseUint64(r.Header("content-length")).value_or(0);
  info.etag = Unquote(r.Header("etag"));
  info.last_modified = r.Header("last-modified");
  info.content_type = r.Header("content-type");
  return info;
}

Result<TransferResult> Client::Copy(const std::string& src_bucket, const std::string& src_key,
                                    const std::string& dst_bucket, const std::string& dst_key) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = dst_bucket;
  req.key = dst_key;
  req.has_body = true;
  req.headers.emplace_back("x-amz-copy-source", UrlEncode("/" + src_bucket + "/" + src_key, true));
  ASSIGN_OR_RETURN(HttpResponse r, impl_->http.Perform(req));
  if (r.status != 200) return ErrorOf(r);
  pugi::xml_document doc;
  doc.load_string(r.text.c_str());
  TransferResult result;
  result.etag = Unquote(doc.document_element().child("ETag").text().get());
  return result;
}

Result<TransferResult> Client::Get(const std::string& bucket, const std::string& key, char* dst,
                                   uint64_t capacity, uint64_t offset, uint64_t length) {
  return impl_->Get(bucket, key, dst, capacity, offset, length);
}

Result<TransferResult> Client::Put(const std::string& bucket, const std::string& key,
                                   const char* src, uint64_t size, const std::string& content_type) {
  return impl_->Put(bucket, key, src, size, content_type, "", 0);
}

}  // namespace skyway::client
