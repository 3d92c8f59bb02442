// Helpers shared by the object, copy and multipart handlers: request attributes, body
// streaming and copying with hashing, conditions, ranges.
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
constexpr size_t kIoBuffer = 1 << 20;

std::string StripAwsChunked(std::string_view encoding) {
  std::string out;
  size_t start = 0;
  while (start <= encoding.size()) {
    size_t comma = encoding.find(',', start);
    std::string_view item = Trim(encoding.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!item.empty() && !EqualsIgnoreCase(item, "aws-chunked")) out += (out.empty() ? "" : ",") + std::string(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
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

}  // namespace

Result<Attrs> AttrsFromRequest(const Context& ctx) {
  Attrs attrs;
  for (const char* name : kStoredHeaders) {
    auto v = ctx.req.headers.Get(name);
    if (!v) continue;
    std::string value(*v);
    if (std::string_view(name) == "Content-Encoding") {
      // aws-chunked is the transfer framing of this request, not a property of the object.
      value = StripAwsChunked(value);
      if (value.empty()) continue;
    }
    attrs.emplace_back(name, value);
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
  if (auto tagging = ctx.req.headers.Get("x-amz-tagging")) {
    ASSIGN_OR_RETURN(Attrs tags, ParseTagQuery(*tagging));
    if (!tags.empty()) attrs.emplace_back(kTaggingAttr, EncodeTagQuery(tags));
  }
  return attrs;
}

std::optional<std::string_view> FindAttr(const Attrs& attrs, std::string_view name) {
  for (const auto& [n, v] : attrs) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

namespace {
Result<std::string> ExpectedMd5(const Context& ctx) {
  auto header = ctx.req.headers.Get("content-md5");
  if (!header) return std::string();
  auto raw = Base64Decode(*header);
  if (!raw || raw->size() != 16) return S3Error("InvalidDigest");
  return HexEncode(*raw);
}
}  // namespace

Status CheckPutLength(const Context& ctx, uint64_t max) {
  // An aws-chunked body states its length in x-amz-decoded-content-length, so it may come in
  // HTTP chunks (the AWS SDK for JavaScript sends streams so); any other body needs a length.
  if (StartsWith(ctx.payload_hash, "STREAMING-")) {
    auto decoded = ParseUint64(ctx.req.headers.Get("x-amz-decoded-content-length").value_or(""));
    if (!decoded) return S3Error("MissingContentLength", "aws-chunked uploads need x-amz-decoded-content-length");
    if (*decoded > max) return S3Error("EntityTooLarge");
    return Status::Ok();
  }
  if (ctx.req.headers.Get("transfer-encoding")) {
    return S3Error("NotImplemented", "Transfer-Encoding is not supported for uploads");
  }
  auto length = ctx.req.headers.Get("content-length");
  if (!length) return S3Error("MissingContentLength");
  if (*ParseUint64(*length) > max) return S3Error("EntityTooLarge");
  return Status::Ok();
}

namespace {

constexpr const char* kChecksumAlgorithms[] = {"crc32", "crc32c", "crc64nvme", "sha1", "sha256"};

// The checksums to compute: one per x-amz-checksum-<algorithm> header, or named by
// x-amz-trailer / x-amz-sdk-checksum-algorithm when the value comes in a trailer.
Result<std::vector<std::pair<std::string, std::unique_ptr<Checksum>>>> ChecksumsToCompute(
    const Context& ctx) {
  std::vector<std::pair<std::string, std::unique_ptr<Checksum>>> out;
  std::string trailer = ToLower(ctx.req.headers.Get("x-amz-trailer").value_or(""));
  std::string sdk = ToLower(ctx.req.headers.Get("x-amz-sdk-checksum-algorithm").value_or(""));
  for (const char* a : kChecksumAlgorithms) {
    std::string name = std::string("x-amz-checksum-") + a;
    if (ctx.req.headers.Get(name) || trailer == name || sdk == a) out.emplace_back(name, Checksum::Make(a));
  }
  if (!trailer.empty() && out.empty()) {
    return S3Error("InvalidRequest", "the trailer " + trailer + " is not a supported checksum");
  }
  return out;
}

}  // namespace

BodyDigester::BodyDigester(const Context& ctx)
    : ctx_(ctx),
      verify_sha256_(!StartsWith(ctx.payload_hash, "STREAMING-") &&
                     ctx.payload_hash != sigv4::kUnsignedPayload) {}

BodyDigester::~BodyDigester() = default;

Status BodyDigester::Init() {
  ASSIGN_OR_RETURN(checksums_, ChecksumsToCompute(ctx_));
  return Status::Ok();
}

void BodyDigester::Update(const char* data, size_t n) {
  total_ += n;
  md5_.Update(data, n);
  if (verify_sha256_) sha_.Update(data, n);
  for (auto& c : checksums_) c.second->Update(data, n);
}

Result<BodyDigest> BodyDigester::Finish(const Attrs& trailers) {
  if (verify_sha256_ && sha_.FinalHex() != ctx_.payload_hash) return S3Error("XAmzContentSHA256Mismatch");
  BodyDigest digest{md5_.FinalHex(), {}};
  ASSIGN_OR_RETURN(std::string expected, ExpectedMd5(ctx_));
  if (!expected.empty() && expected != digest.md5) return S3Error("BadDigest");
  for (auto& [name, checksum] : checksums_) {
    std::string computed = checksum->FinalBase64();
    auto given = ctx_.req.headers.Get(name);
    if (!given) given = FindAttr(trailers, name);
    if (!given) continue;  // named by x-amz-sdk-checksum-algorithm but never sent
    if (*given != computed) {
      return S3Error("BadDigest", "the " + name.substr(15) + " you specified did not match the calculated checksum");
    }
    digest.checksums.emplace_back(name, computed);
  }
  return digest;
}

Result<BodyDigest> StreamBody(Context& ctx, store::ObjectWriter* writer) {
  std::optional<AwsChunkedReader> decoder;
  http::BodyReader* body = ctx.req.body;
  std::optional<uint64_t> decoded_length;
  if (StartsWith(ctx.payload_hash, "STREAMING-")) {
    decoded_length = ParseUint64(ctx.req.headers.Get("x-amz-decoded-content-length").value_or(""));
    if (!decoded_length) return S3Error("MissingContentLength", "aws-chunked uploads need x-amz-decoded-content-length");
    decoder.emplace(ctx.req.body, ctx.chunk_signer, EndsWith(ctx.payload_hash, "-TRAILER"));
    body = &*decoder;
  }
  BodyDigester digester(ctx);
  RETURN_IF_ERROR(digester.Init());
  std::unique_ptr<char[]> buf(new char[kIoBuffer]);
  for (;;) {
    auto n = body->Read(buf.get(), kIoBuffer);
    if (!n.ok()) return n.status().reason().empty() ? S3Error("IncompleteBody", n.status().message()) : n.status();
    if (*n == 0) break;
    digester.Update(buf.get(), *n);
    RETURN_IF_ERROR(writer->Write(buf.get(), *n));
  }
  if (decoded_length && *decoded_length != digester.total()) {
    return S3Error("IncompleteBody", "the decoded body length does not match x-amz-decoded-content-length");
  }
  return digester.Finish(decoder ? decoder->trailers() : Attrs());
}

Result<std::string> CopyBytes(const store::ObjectData& source, ByteRange range,
                              store::ObjectWriter* writer) {
  Md5 md5;
  std::unique_ptr<char[]> buf(new char[kIoBuffer]);
  uint64_t pos = 0;
  for (const auto& e : source.extents) {
    uint64_t begin = std::max(range.first, pos);
    uint64_t end = std::min(range.first + range.length, pos + e.length);
    for (uint64_t at = begin; at < end;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kIoBuffer, end - at));
      RETURN_IF_ERROR(PreadAll(e.file->get(), buf.get(), n, e.offset + (at - pos)));
      md5.Update(buf.get(), n);
      RETURN_IF_ERROR(writer->Write(buf.get(), n));
      at += n;
    }
    pos += e.length;
  }
  return md5.FinalHex();
}

std::string StripQuotes(std::string_view etag) {
  etag = Trim(etag);
  if (StartsWith(etag, "W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

// RFC 9110 section 13.2.2 order: If-Match, else If-Unmodified-Since; then If-None-Match, else
// If-Modified-Since. That is also S3's documented precedence.
Status CheckConditions(const Context& ctx, const store::ObjectMeta& meta, std::string_view prefix) {
  const http::Headers& h = ctx.req.headers;
  auto get = [&](const char* name) { return h.Get(std::string(prefix) + name); };
  int64_t mtime = meta.mtime_nanos / 1000000000;
  if (auto im = get("if-match")) {
    if (!EtagListMatches(*im, meta.etag)) return S3Error("PreconditionFailed");
  } else if (auto ius = get("if-unmodified-since")) {
    auto t = ParseHttpDate(*ius);
    if (t && mtime > *t) return S3Error("PreconditionFailed");
  }
  if (auto inm = get("if-none-match")) {
    if (EtagListMatches(*inm, meta.etag)) return S3Error("NotModified");
  } else if (auto ims = get("if-modified-since")) {
    auto t = ParseHttpDate(*ims);
    if (t && mtime <= *t) return S3Error("NotModified");
  }
  return Status::Ok();
}

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
    if (*last == 0 || size == 0) return S3Error("InvalidRange");
    uint64_t n = std::min(*last, size);
    return std::optional<ByteRange>(ByteRange{size - n, n});
  }
  if (last && *last < *first) return none;
  if (*first >= size) return S3Error("InvalidRange");
  uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return std::optional<ByteRange>(ByteRange{*first, end - *first + 1});
}

}  // namespace skyway::s3
