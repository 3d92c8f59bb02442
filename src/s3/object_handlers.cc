// Object operations: PutObject (streamed to disk), GetObject/HeadObject (ranges, conditionals,
// response-* overrides, sendfile), DeleteObject.
#include <algorithm>
#include <memory>

#include "s3/internal.h"
#include "sigv4/sigv4.h"

namespace skyway::s3 {
namespace {

// Headers stored with an object and returned verbatim on GET and HEAD.
constexpr const char* kStoredHeaders[] = {"Content-Type",     "Content-Encoding",
                                          "Content-Disposition", "Cache-Control",
                                          "Content-Language", "Expires"};
constexpr char kMetaPrefix[] = "x-amz-meta-";
constexpr size_t kPutBuffer = 1 << 20;

Result<std::vector<std::pair<std::string, std::string>>> CollectAttrs(const Context& ctx) {
  std::vector<std::pair<std::string, std::string>> attrs;
  for (const char* name : kStoredHeaders) {
    if (auto v = ctx.req.headers.Get(name)) attrs.emplace_back(name, std::string(*v));
  }
  size_t meta_bytes = 0;
  for (const auto& [name, value] : ctx.req.headers.all()) {
    std::string lower = ToLower(name);
    if (!StartsWith(lower, kMetaPrefix)) continue;
    meta_bytes += lower.size() - (sizeof(kMetaPrefix) - 1) + value.size();
    attrs.emplace_back(lower, value);
  }
  if (meta_bytes > ctx.config.max_user_metadata_bytes) {
    return S3Error("MetadataTooLarge", "your metadata headers exceed the maximum allowed metadata "
                                       "size of " + std::to_string(ctx.config.max_user_metadata_bytes) + " bytes");
  }
  return attrs;
}

Result<std::string> ExpectedMd5(const Context& ctx) {
  auto header = ctx.req.headers.Get("content-md5");
  if (!header) return std::string();
  auto raw = Base64Decode(*header);
  if (!raw || raw->size() != 16) return S3Error("InvalidDigest");
  return HexEncode(*raw);
}

Status CheckPutLength(const Context& ctx) {
  if (ctx.req.headers.Get("transfer-encoding")) {
    return S3Error("NotImplemented", "Transfer-Encoding is not supported for PutObject");
  }
  auto length = ctx.req.headers.Get("content-length");
  if (!length) return S3Error("MissingContentLength");
  if (*ParseUint64(*length) > ctx.config.max_object_size) return S3Error("EntityTooLarge");
  return Status::Ok();
}

// Moves the body into the writer, hashing as it goes; the object is committed by the caller.
Result<std::string> StreamBody(Context& ctx, store::ObjectWriter* writer) {
  bool verify = ctx.payload_hash != sigv4::kUnsignedPayload;
  Md5 md5;
  Sha256 sha;
  std::unique_ptr<char[]> buf(new char[kPutBuffer]);
  for (;;) {
    auto n = ctx.req.body->Read(buf.get(), kPutBuffer);
    if (!n.ok()) return S3Error("IncompleteBody", n.status().message());
    if (*n == 0) break;
    md5.Update(buf.get(), *n);
    if (verify) sha.Update(buf.get(), *n);
    RETURN_IF_ERROR(writer->Write(buf.get(), *n));
  }
  if (verify && sha.FinalHex() != ctx.payload_hash) return S3Error("XAmzContentSHA256Mismatch");
  return md5.FinalHex();
}

// ---- reads ----------------------------------------------------------------------------------

std::string StripQuotes(std::string_view etag) {
  etag = Trim(etag);
  if (StartsWith(etag, "W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

bool EtagListMatches(std::string_view list, const std::string& etag) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = Trim(list.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (item == "*" || StripQuotes(item) == etag) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

// RFC 9110 section 13.2.2 order: If-Match, else If-Unmodified-Since; then If-None-Match, else
// If-Modified-Since. That is also S3's documented precedence.
Status CheckConditions(const Context& ctx, const store::ObjectMeta& meta) {
  const http::Headers& h = ctx.req.headers;
  int64_t mtime = meta.mtime_nanos / 1000000000;
  if (auto im = h.Get("if-match")) {
    if (!EtagListMatches(*im, meta.etag)) return S3Error("PreconditionFailed");
  } else if (auto ius = h.Get("if-unmodified-since")) {
    auto t = ParseHttpDate(*ius);
    if (t && mtime > *t) return S3Error("PreconditionFailed");
  }
  if (auto inm = h.Get("if-none-match")) {
    if (EtagListMatches(*inm, meta.etag)) return S3Error("NotModified");
  } else if (auto ims = h.Get("if-modified-since")) {
    auto t = ParseHttpDate(*ims);
    if (t && mtime <= *t) return S3Error("NotModified");
  }
  return Status::Ok();
}

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

// A single "bytes=a-b", "bytes=a-" or "bytes=-n". nullopt for a header to ignore (malformed or
// several ranges: S3 then returns the whole object). InvalidRange when it cannot be satisfied.
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size) {
  std::optional<ByteRange> none;
  header = Trim(header);
  if (!StartsWith(header, "bytes=") || header.find(',') != std::string_view::npos) return none;
  std::string_view spec = header.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  auto first = ParseUint64(spec.substr(0, dash));
  auto last = ParseUint64(spec.substr(dash + 1));
  if (!first && !last) return none;
  if (!first) {  // suffix: the last N bytes
    if (*last == 0) return S3Error("InvalidRange");
    uint64_t n = std::min(*last, size);
    if (size == 0) return S3Error("InvalidRange");
    return std::optional<ByteRange>(ByteRange{size - n, n});
  }
  if (last && *last < *first) return none;
  if (*first >= size) return S3Error("InvalidRange");
  uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return std::optional<ByteRange>(ByteRange{*first, end - *first + 1});
}

void SetObjectHeaders(Context& ctx, const store::ObjectMeta& meta) {
  http::Headers& out = ctx.resp.headers;
  out.Set("ETag", "\"" + meta.etag + "\"");
  out.Set("Last-Modified", FormatHttpDate(meta.mtime_nanos / 1000000000));
  out.Set("Accept-Ranges", "bytes");
  out.Set("Content-Type", "binary/octet-stream");
  for (const auto& [name, value] : meta.attrs) out.Set(name, value);
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"}};
  for (const auto& [param, header] : kOverrides) {
    if (auto v = ctx.req.Query(param)) out.Set(header, std::string(*v));
  }
}

void AddBody(Context& ctx, const std::vector<store::Extent>& extents, ByteRange range) {
  uint64_t pos = 0;
  for (const auto& e : extents) {
    uint64_t begin = std::max(range.first, pos);
    uint64_t end = std::min(range.first + range.length, pos + e.length);
    if (begin < end) ctx.resp.AddFile(e.file, e.offset + (begin - pos), end - begin);
    pos += e.length;
  }
}

}  // namespace

Status PutObject(Context& ctx) {
  RETURN_IF_ERROR(CheckPutLength(ctx));
  ASSIGN_OR_RETURN(auto attrs, CollectAttrs(ctx));
  ASSIGN_OR_RETURN(std::string expected_md5, ExpectedMd5(ctx));
  ASSIGN_OR_RETURN(auto writer, ctx.backend->PutObject(ctx.bucket, ctx.key));
  ASSIGN_OR_RETURN(std::string md5, StreamBody(ctx, writer.get()));
  if (!expected_md5.empty() && expected_md5 != md5) return S3Error("BadDigest");
  store::ObjectMeta meta;
  meta.etag = md5;
  meta.attrs = std::move(attrs);
  ASSIGN_OR_RETURN(meta, writer->Commit(std::move(meta)));
  ctx.resp.headers.Set("ETag", "\"" + meta.etag + "\"");
  return Status::Ok();
}

Status GetObject(Context& ctx, bool head) {
  store::ObjectData data;
  if (head) {
    ASSIGN_OR_RETURN(data.meta, ctx.backend->HeadObject(ctx.bucket, ctx.key));
  } else {
    ASSIGN_OR_RETURN(data, ctx.backend->OpenObject(ctx.bucket, ctx.key));
  }
  const store::ObjectMeta& meta = data.meta;
  Status cond = CheckConditions(ctx, meta);
  if (!cond.ok()) {
    if (cond.reason() == "NotModified") {
      ctx.resp.status = 304;
      ctx.resp.headers.Set("ETag", "\"" + meta.etag + "\"");
      ctx.resp.headers.Set("Last-Modified", FormatHttpDate(meta.mtime_nanos / 1000000000));
      return Status::Ok();
    }
    return cond;
  }
  ByteRange range{0, meta.size};
  auto range_header = ctx.req.headers.Get("range");
  if (range_header) {
    ASSIGN_OR_RETURN(auto parsed, ParseRange(*range_header, meta.size));
    if (parsed) {
      range = *parsed;
      ctx.resp.status = 206;
      ctx.resp.headers.Set("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.first + range.length - 1) +
                                                "/" + std::to_string(meta.size));
    }
  }
  SetObjectHeaders(ctx, meta);
  ctx.resp.headers.Set("Content-Length", std::to_string(range.length));
  if (!head) AddBody(ctx, data.extents, range);
  return Status::Ok();
}

Status DeleteObject(Context& ctx) {
  RETURN_IF_ERROR(ctx.backend->DeleteObject(ctx.bucket, ctx.key));
  ctx.resp.status = 204;
  return Status::Ok();
}

}  // namespace skyway::s3
