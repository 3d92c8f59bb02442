// Object operations: PutObject (streamed to disk), CopyObject, GetObject/HeadObject (ranges,
// part numbers, conditionals, response-* overrides, sendfile), DeleteObject.
#include <algorithm>
#include <memory>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

// Tags are returned as a count, checksums only when asked for: neither as stored.
bool IsHiddenAttr(std::string_view name) {
  return name == kTaggingAttr || StartsWith(name, "x-amz-checksum-");
}

void SetObjectHeaders(Context& ctx, const store::ObjectMeta& meta) {
  http::Headers& out = ctx.resp.headers;
  out.Set("ETag", "\"" + meta.etag + "\"");
  out.Set("Last-Modified", FormatHttpDate(meta.mtime_nanos / 1000000000));
  out.Set("Accept-Ranges", "bytes");
  out.Set("Content-Type", "binary/octet-stream");
  size_t tags = 0;
  for (const auto& [name, value] : meta.attrs) {
    if (name == kTaggingAttr) tags = 1 + static_cast<size_t>(std::count(value.begin(), value.end(), '&'));
    if (!IsHiddenAttr(name)) out.Set(name, value);
  }
  if (tags > 0) out.Set("x-amz-tagging-count", std::to_string(tags));
  auto mode = ctx.req.headers.Get("x-amz-checksum-mode");
  if (mode && EqualsIgnoreCase(*mode, "ENABLED") && !ctx.req.headers.Get("range")) {
    for (const auto& [name, value] : meta.attrs) {
      if (StartsWith(name, "x-amz-checksum-")) out.Set(name, value);
    }
  }
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

// The source of a copy: "/bucket/key" or "bucket/key", URL-encoded, optionally ?versionId=.
Status ParseCopySource(std::string_view header, std::string* bucket, std::string* key) {
  auto decoded = UrlDecode(header.substr(0, header.find('?')));
  std::string_view query = header.find('?') == std::string_view::npos ? "" : header.substr(header.find('?') + 1);
  if (!decoded) return S3Error("InvalidArgument", "x-amz-copy-source is not URL-encoded correctly");
  if (!query.empty() && query != "versionId=null") {
    return S3Error("NotImplemented", "versioned copy sources are not supported");
  }
  std::string_view src = *decoded;
  if (StartsWith(src, "/")) src.remove_prefix(1);
  size_t slash = src.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == src.size()) {
    return S3Error("InvalidArgument", "x-amz-copy-source must be bucket/key");
  }
  *bucket = std::string(src.substr(0, slash));
  *key = std::string(src.substr(slash + 1));
  return Status::Ok();
}

// A copy source's conditions all fail with 412 (there is no 304 for a copy).
Status CheckCopyConditions(const Context& ctx, const store::ObjectMeta& meta) {
  Status st = CheckConditions(ctx, meta, "x-amz-copy-source-");
  if (!st.ok() && st.reason() == "NotModified") return S3Error("PreconditionFailed");
  return st;
}

}  // namespace

Result<store::ObjectData> OpenCopySource(Context& ctx) {
  std::string bucket, key;
  RETURN_IF_ERROR(ParseCopySource(*ctx.req.headers.Get("x-amz-copy-source"), &bucket, &key));
  ASSIGN_OR_RETURN(store::ObjectData source, ctx.backend->OpenObject(bucket, key));
  RETURN_IF_ERROR(CheckCopyConditions(ctx, source.meta));
  return source;
}

Status PutObject(Context& ctx) {
  RETURN_IF_ERROR(CheckPutLength(ctx, ctx.config.max_object_size));
  ASSIGN_OR_RETURN(Attrs attrs, AttrsFromRequest(ctx));
  ASSIGN_OR_RETURN(auto writer, ctx.backend->PutObject(ctx.bucket, ctx.key));
  ASSIGN_OR_RETURN(BodyDigest digest,
                   ReceiveBody(ctx, writer.get(), ctx.config.max_object_size, /*part=*/false));
  store::ObjectMeta meta;
  meta.etag = digest.md5;
  meta.attrs = std::move(attrs);
  for (auto& c : digest.checksums) {
    ctx.resp.headers.Set(c.first, c.second);
    meta.attrs.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(meta, writer->Commit(std::move(meta)));
  ctx.resp.headers.Set("ETag", Quoted(meta.etag));
  return Status::Ok();
}

Status CopyObject(Context& ctx) {
  std::string directive(ctx.req.headers.Get("x-amz-metadata-directive").value_or("COPY"));
  std::string tag_directive(ctx.req.headers.Get("x-amz-tagging-directive").value_or("COPY"));
  if ((directive != "COPY" && directive != "REPLACE") ||
      (tag_directive != "COPY" && tag_directive != "REPLACE")) {
    return S3Error("InvalidArgument", "the metadata and tagging directives must be COPY or REPLACE");
  }
  std::string src_bucket, src_key;
  RETURN_IF_ERROR(ParseCopySource(*ctx.req.headers.Get("x-amz-copy-source"), &src_bucket, &src_key));
  if (src_bucket == ctx.bucket && src_key == ctx.key && directive == "COPY") {
    return S3Error("InvalidRequest",
                   "This copy request is illegal because it is trying to copy an object to itself "
                   "without changing the object's metadata, storage class, website redirect "
                   "location or encryption attributes.");
  }
  ASSIGN_OR_RETURN(store::ObjectData source, OpenCopySource(ctx));
  if (source.meta.size > ctx.config.max_object_size) {
    return S3Error("InvalidRequest", "the copy source is larger than the maximum allowable size "
                                     "for a copy source: " + std::to_string(ctx.config.max_object_size));
  }
  Attrs attrs;
  if (directive == "REPLACE") {
    ASSIGN_OR_RETURN(attrs, AttrsFromRequest(ctx));
    attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [](const auto& a) { return a.first == kTaggingAttr; }), attrs.end());
  } else {
    for (const auto& a : source.meta.attrs) {
      if (a.first != kTaggingAttr) attrs.push_back(a);
    }
  }
  if (tag_directive == "COPY") {
    if (auto tags = FindAttr(source.meta.attrs, kTaggingAttr)) attrs.emplace_back(kTaggingAttr, std::string(*tags));
  } else if (auto tagging = ctx.req.headers.Get("x-amz-tagging")) {
    ASSIGN_OR_RETURN(Attrs tags, ParseTagQuery(*tagging));
    if (!tags.empty()) attrs.emplace_back(kTaggingAttr, EncodeTagQuery(tags));
  }
  ASSIGN_OR_RETURN(auto writer, ctx.backend->PutObject(ctx.bucket, ctx.key));
  store::ObjectMeta meta;
  ASSIGN_OR_RETURN(meta.etag, CopyBytes(source, ByteRange{0, source.meta.size}, writer.get()));
  meta.attrs = std::move(attrs);
  ASSIGN_OR_RETURN(meta, writer->Commit(std::move(meta)));
  XmlWriter xml("CopyObjectResult");
  xml.Element("LastModified", FormatIso8601Millis(meta.mtime_nanos)).Element("ETag", Quoted(meta.etag));
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

namespace {

// The byte range a GET asks for: a part (?partNumber=) or a Range header; the whole object
// otherwise. Sets the 206 status and Content-Range where the answer is partial.
Result<ByteRange> SelectRange(Context& ctx, const store::ObjectMeta& meta) {
  ByteRange range{0, meta.size};
  bool partial = false;
  if (auto part = ctx.req.Query("partNumber")) {
    auto n = ParseUint64(*part);
    if (!n || *n < 1 || *n > 10000) return S3Error("InvalidArgument", "partNumber must be 1 to 10000");
    size_t parts = std::max<size_t>(1, meta.part_sizes.size());
    if (*n > parts) return S3Error("InvalidPartNumber");
    if (!meta.part_sizes.empty()) {
      range.first = 0;
      for (size_t i = 0; i + 1 < *n; i++) range.first += meta.part_sizes[i];
      range.length = meta.part_sizes[*n - 1];
      ctx.resp.headers.Set("x-amz-mp-parts-count", std::to_string(parts));
      partial = true;
    }
  } else if (auto header = ctx.req.headers.Get("range")) {
    ASSIGN_OR_RETURN(auto parsed, ParseRange(*header, meta.size));
    if (parsed) {
      range = *parsed;
      partial = true;
    }
  }
  if (partial) {
    ctx.resp.status = 206;
    ctx.resp.headers.Set("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                              std::to_string(range.first + range.length - 1) +
                                              "/" + std::to_string(meta.size));
  }
  return range;
}

}  // namespace

Status GetObject(Context& ctx, bool head) {
  store::ObjectData data;
  if (head) {
    ASSIGN_OR_RETURN(data.meta, ctx.backend->HeadObject(ctx.bucket, ctx.key));
  } else {
    ASSIGN_OR_RETURN(data, ctx.backend->OpenObject(ctx.bucket, ctx.key));
  }
  const store::ObjectMeta& meta = data.meta;
  Status cond = CheckConditions(ctx, meta, "");
  if (!cond.ok()) {
    if (cond.reason() != "NotModified") return cond;
    ctx.resp.status = 304;
    ctx.resp.headers.Set("ETag", Quoted(meta.etag));
    ctx.resp.headers.Set("Last-Modified", FormatHttpDate(meta.mtime_nanos / 1000000000));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(ByteRange range, SelectRange(ctx, meta));
  SetObjectHeaders(ctx, meta);
  ctx.resp.headers.Set("Content-Length", std::to_string(range.length));
  if (head) return Status::Ok();
  ASSIGN_OR_RETURN(auto target, ResolveRdmaToken(ctx));
  if (target) return DirectGet(ctx, data, range, *target);
  AddBody(ctx, data.extents, range);
  return Status::Ok();
}

Status DeleteObject(Context& ctx) {
  RETURN_IF_ERROR(ctx.backend->DeleteObject(ctx.bucket, ctx.key));
  ctx.resp.status = 204;
  return Status::Ok();
}

void SetXmlBody(Context& ctx, std::string xml) {
  ctx.resp.headers.Set("Content-Type", "application/xml");
  ctx.resp.SetBody(std::move(xml));
}

std::string OwnerId(const Context& ctx) {
  return Sha256Hex(ctx.config.credentials.empty() ? "" : ctx.config.credentials[0].access_key);
}

}  // namespace skyway::s3
