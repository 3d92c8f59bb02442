// Transfers: single GET/PUT (direct or HTTP), parallel ranged GET, parallel multipart PUT, and
// file transfers through a window of registered memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <pugixml.hpp>
#include <thread>

#include "client/client_impl.h"

namespace skyway::client {
namespace {

bool IsDirectReply(const HttpResponse& r) {
  std::string reply = r.Header("x-amz-rdma-reply");
  return reply == "200" || reply == "206";
}

// Runs task(i) for i in [0, count) on up to `threads` threads; the first error wins.
Status RunParallel(size_t count, int threads, const std::function<Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (size_t i; (i = next++) < count;) {
      Status st = task(i);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = st;
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, static_cast<int>(count)); t++) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  return first;
}

}  // namespace

static Status DeviceNeedsDirect() {
  return Status(Code::kFailedPrecondition, "",
                "the direct path was declined; GPU memory cannot take an HTTP body");
}

Result<TransferResult> Client::Impl::Get(const std::string& bucket, const std::string& key,
                                         char* dst, uint64_t capacity, uint64_t offset,
                                         uint64_t length) {
  HttpRequest req;
  req.bucket = bucket;
  req.key = key;
  if (length > 0) {
    req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  }
  uint64_t want = length > 0 ? std::min(length, capacity) : capacity;
  if (auto token = TokenFor(dst, want)) {
    HttpRequest direct = req;
    direct.headers.emplace_back("x-amz-rdma-token", *token);
    ASSIGN_OR_RETURN(HttpResponse r, http.Perform(direct));
    if ((r.status == 200 || r.status == 206) && IsDirectReply(r)) {
      return TransferResult{ParseUint64(r.Header("x-amz-rdma-bytes-transferred")).value_or(0),
                            Unquote(r.Header("etag")), Transport::kDirect};
    }
    if (r.Header("x-amz-rdma-reply") != "501") {
      Status st = ErrorOf(r);
      if (st.reason() == "InvalidArgument" && st.message().find("names only") != std::string::npos) {
        return Status(Code::kOutOfRange, "", "the object does not fit in the buffer");
      }
      return st;
    }
    Declined(r);
  }
  if (OnDevice(dst, want)) return DeviceNeedsDirect();
  req.sink = dst;
  req.sink_capacity = capacity;
  ASSIGN_OR_RETURN(HttpResponse r, http.Perform(req));
  if (r.sink_overflow) return Status(Code::kOutOfRange, "", "the object does not fit in the buffer");
  if (r.status != 200 && r.status != 206) return ErrorOf(r);
  return TransferResult{r.sink_bytes, Unquote(r.Header("etag")), Transport::kHttp};
}

Result<TransferResult> Client::Impl::Put(const std::string& bucket, const std::string& key,
                                         const char* src, uint64_t size,
                                         const std::string& content_type,
                                         const std::string& upload_id, int part_number) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = key;
  req.has_body = true;
  if (!upload_id.empty()) {
    req.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  }
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  if (auto token = size > 0 ? TokenFor(src, size) : std::nullopt) {
    HttpRequest direct = req;
    direct.headers.emplace_back("x-amz-rdma-token", *token);
    ASSIGN_OR_RETURN(HttpResponse r, http.Perform(direct));
    if (r.status == 200 && IsDirectReply(r)) {
      return TransferResult{size, Unquote(r.Header("etag")), Transport::kDirect};
    }
    if (r.Header("x-amz-rdma-reply") != "501") return ErrorOf(r);
    Declined(r);
  }
  if (size > 0 && OnDevice(src, size)) return DeviceNeedsDirect();
  req.body = src;
  req.body_size = size;
  ASSIGN_OR_RETURN(HttpResponse r, http.Perform(req));
  if (r.status != 200) return ErrorOf(r);
  return TransferResult{size, Unquote(r.Header("etag")), Transport::kHttp};
}

Result<TransferResult> Client::ParallelGet(const std::string& bucket, const std::string& key,
                                           char* dst, uint64_t capacity, const Progress& progress) {
  ASSIGN_OR_RETURN(ObjectInfo info, Stat(bucket, key));
  if (info.size > capacity) return Status(Code::kOutOfRange, "", "the object does not fit in the buffer");
  uint64_t part = impl_->options.part_size;
  size_t parts = static_cast<size_t>(std::max<uint64_t>(1, (info.size + part - 1) / part));
  std::atomic<uint64_t> done{0};
  std::atomic<bool> all_direct{true};
  Status st = RunParallel(parts, impl_->options.parallelism, [&](size_t i) -> Status {
    uint64_t offset = i * part, length = std::min(part, info.size - offset);
    if (length == 0) return Status::Ok();  // an empty object
    ASSIGN_OR_RETURN(TransferResult r, impl_->Get(bucket, key, dst + offset, length, offset, length));
    if (r.bytes != length) return Status::IOError("short ranged GET");
    if (r.transport != Transport::kDirect) all_direct = false;
    uint64_t now = done += length;
    if (progress) progress(now, info.size);
    return Status::Ok();
  });
  RETURN_IF_ERROR(st);
  return TransferResult{info.size, info.etag, all_direct ? Transport::kDirect : Transport::kHttp};
}

namespace {

Result<std::string> CreateUpload(HttpClient& http, const std::string& bucket, const std::string& key) {
  HttpRequest req;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploads", ""}};
  req.has_body = true;
  ASSIGN_OR_RETURN(HttpResponse r, http.Perform(req));
  if (r.status != 200) return ErrorOf(r);
  pugi::xml_document doc;
  doc.load_string(r.text.c_str());
  std::string id = doc.document_element().child("UploadId").text().get();
  if (id.empty()) return Status::Internal("no UploadId in the reply");
  return id;
}

Result<std::string> CompleteUpload(HttpClient& http, const std::string& bucket,
                                   const std::string& key, const std::string& upload_id,
                                   const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); i++) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" + etags[i] +
           "\"</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  HttpRequest req;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  req.has_body = true;
  req.sign_body = true;
  req.body = xml.data();
  req.body_size = xml.size();
  ASSIGN_OR_RETURN(HttpResponse r, http.Perform(req));
  if (r.status != 200 || r.text.find("<Error>") != std::string::npos) return ErrorOf(r);
  pugi::xml_document doc;
  doc.load_string(r.text.c_str());
  return Unquote(doc.document_element().child("ETag").text().get());
}

void AbortUpload(HttpClient& http, const std::string& bucket, const std::string& key,
                 const std::string& upload_id) {
  HttpRequest req;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  (void)http.Perform(req);
}

}  // namespace

// A multipart upload of `size` bytes in windows: load(start, length) makes a window of the
// object available in memory; its parts then go up in parallel before the next window loads.
Result<TransferResult> UploadParts(
    Client::Impl* impl, const std::string& bucket, const std::string& key, uint64_t size,
    uint64_t window, const std::function<Result<const char*>(uint64_t, uint64_t)>& load,
    const Progress& progress) {
  ASSIGN_OR_RETURN(std::string upload_id, CreateUpload(impl->http, bucket, key));
  uint64_t part = impl->options.part_size;
  std::vector<std::string> etags((size + part - 1) / part);
  std::atomic<uint64_t> done{0};
  std::atomic<bool> all_direct{true};
  Status st;
  for (uint64_t start = 0; start < size && st.ok(); start += window) {
    uint64_t length = std::min(window, size - start);
    auto data = load(start, length);
    if (!data.ok()) {
      st = data.status();
      break;
    }
    size_t first = static_cast<size_t>(start / part), count = static_cast<size_t>((length + part - 1) / part);
    st = RunParallel(count, impl->options.parallelism, [&](size_t i) -> Status {
      uint64_t off = i * part, len = std::min(part, length - off);
      int number = static_cast<int>(first + i + 1);
      ASSIGN_OR_RETURN(TransferResult r, impl->Put(bucket, key, *data + off, len, "", upload_id, number));
      if (r.transport != Transport::kDirect) all_direct = false;
      etags[first + i] = r.etag;
      uint64_t now = done += len;
      if (progress) progress(now, size);
      return Status::Ok();
    });
  }
  Result<std::string> etag = st.ok() ? CompleteUpload(impl->http, bucket, key, upload_id, etags) : st;
  if (!etag.ok()) {
    AbortUpload(impl->http, bucket, key, upload_id);
    return etag.status();
  }
  return TransferResult{size, *etag, all_direct ? Transport::kDirect : Transport::kHttp};
}

Result<TransferResult> Client::ParallelPut(const std::string& bucket, const std::string& key,
                                           const char* src, uint64_t size, const Progress& progress) {
  if (size <= impl_->options.part_size) {
    ASSIGN_OR_RETURN(TransferResult r, Put(bucket, key, src, size));
    if (progress) progress(size, size);
    return r;
  }
  return UploadParts(impl_.get(), bucket, key, size, size,
                     [&](uint64_t start, uint64_t) -> Result<const char*> { return src + start; },
                     progress);
}

namespace {

struct Window {
  uint64_t start;
  uint64_t length;
};

// The file transfer window: parallelism parts, never more than the object.
uint64_t WindowSize(const Options& o, uint64_t size) {
  return std::max<uint64_t>(1, std::min<uint64_t>(size, o.part_size * static_cast<uint64_t>(o.parallelism)));
}

}  // namespace

Result<TransferResult> Client::Download(const std::string& bucket, const std::string& key,
                                        const std::string& path, const Progress& progress) {
  ASSIGN_OR_RETURN(ObjectInfo info, Stat(bucket, key));
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno("open " + path, errno);
  uint64_t window = WindowSize(impl_->options, info.size), part = impl_->options.part_size;
  ASSIGN_OR_RETURN(std::unique_ptr<Buffer> buf, Allocate(window));
  std::atomic<bool> all_direct{buf->registered()};
  std::atomic<uint64_t> done{0};
  for (uint64_t start = 0; start < info.size; start += window) {
    uint64_t length = std::min(window, info.size - start);
    size_t parts = static_cast<size_t>((length + part - 1) / part);
    RETURN_IF_ERROR(RunParallel(parts, impl_->options.parallelism, [&](size_t i) -> Status {
      uint64_t off = i * part, len = std::min(part, length - off);
      ASSIGN_OR_RETURN(TransferResult r, impl_->Get(bucket, key, buf->data() + off, len, start + off, len));
      if (r.bytes != len) return Status::IOError("short ranged GET");
      if (r.transport != Transport::kDirect) all_direct = false;
      uint64_t now = done += len;
      if (progress) progress(now, info.size);
      return Status::Ok();
    }));
    for (uint64_t w = 0; w < length;) {
      ssize_t n = ::pwrite(fd.get(), buf->data() + w, length - w, static_cast<off_t>(start + w));
      if (n < 0) return Status::FromErrno("write " + path, errno);
      w += static_cast<uint64_t>(n);
    }
  }
  if (info.size == 0 && progress) progress(0, 0);
  return TransferResult{info.size, info.etag, all_direct ? Transport::kDirect : Transport::kHttp};
}

Result<TransferResult> Client::Upload(const std::string& path, const std::string& bucket,
                                      const std::string& key, const Progress& progress) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat " + path, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size), part = impl_->options.part_size;
  uint64_t window = WindowSize(impl_->options, size);
  ASSIGN_OR_RETURN(std::unique_ptr<Buffer> buf, Allocate(window));
  auto load = [&](uint64_t start, uint64_t length) -> Status {
    return length == 0 ? Status::Ok() : PreadAll(fd.get(), buf->data(), length, start);
  };
  if (size <= part) {
    RETURN_IF_ERROR(load(0, size));
    ASSIGN_OR_RETURN(TransferResult r, Put(bucket, key, buf->data(), size));
    if (progress) progress(size, size);
    return r;
  }
  return UploadParts(impl_.get(), bucket, key, size, window / part * part,
                     [&](uint64_t start, uint64_t length) -> Result<const char*> {
                       RETURN_IF_ERROR(load(start, length));
                       return static_cast<const char*>(buf->data());
                     },
                     progress);
}

}  // namespace skyway::client
