// ListObjects (v1) and ListObjectsV2 over the store's ordered scan.
#include "s3/internal.h"

namespace skyway::s3 {
namespace {

struct ListParams {
  store::ListOptions options;
  bool url_encode = false;
  size_t max_keys = 1000;
};

Result<ListParams> ParseCommon(const Context& ctx) {
  ListParams p;
  const http::Request& req = ctx.req;
  p.options.prefix = std::string(req.Query("prefix").value_or(""));
  p.options.delimiter = std::string(req.Query("delimiter").value_or(""));
  if (auto mk = req.Query("max-keys")) {
    auto v = ParseUint64(*mk);
    if (!v) return S3Error("InvalidArgument", "max-keys must be an integer between 0 and 2147483647");
    p.max_keys = static_cast<size_t>(std::min<uint64_t>(*v, 1000));
  }
  p.options.max_keys = p.max_keys;
  if (auto enc = req.Query("encoding-type")) {
    if (*enc != "url") return S3Error("InvalidArgument", "invalid Encoding Method specified in Request");
    p.url_encode = true;
  }
  return p;
}

class ListWriter {
 public:
  ListWriter(const Context& ctx, bool url_encode) : ctx_(ctx), url_(url_encode) {}
  std::string Enc(std::string_view s) const { return url_ ? UrlEncode(s, true) : std::string(s); }

  void Header(XmlWriter& xml, const ListParams& p) const {
    xml.Element("Name", ctx_.bucket).Element("Prefix", Enc(p.options.prefix));
  }
  void Tail(XmlWriter& xml, const ListParams& p, const store::ListResult& r) const {
    if (!p.options.delimiter.empty()) xml.Element("Delimiter", Enc(p.options.delimiter));
    if (url_) xml.Element("EncodingType", "url");
    xml.Element("IsTruncated", r.truncated ? "true" : "false");
  }
  void Entries(XmlWriter& xml, const store::ListResult& r, bool owner) const {
    std::string owner_id = OwnerId(ctx_);
    for (const auto& [key, meta] : r.objects) {
      xml.Open("Contents")
          .Element("Key", Enc(key))
          .Element("LastModified", FormatIso8601Millis(meta.mtime_nanos))
          .Element("ETag", "\"" + meta.etag + "\"")
          .Element("Size", std::to_string(meta.size));
      if (owner) {
        xml.Open("Owner").Element("ID", owner_id).Element("DisplayName", "skyway").Close("Owner");
      }
      xml.Element("StorageClass", "STANDARD").Close("Contents");
    }
    for (const auto& prefix : r.common_prefixes) {
      xml.Open("CommonPrefixes").Element("Prefix", Enc(prefix)).Close("CommonPrefixes");
    }
  }

 private:
  const Context& ctx_;
  bool url_;
};

}  // namespace

Status ListObjectsV1(Context& ctx) {
  ASSIGN_OR_RETURN(ListParams p, ParseCommon(ctx));
  std::string marker(ctx.req.Query("marker").value_or(""));
  p.options.start_after = marker;
  ASSIGN_OR_RETURN(store::ListResult r, ctx.backend->ListObjects(ctx.bucket, p.options));
  ListWriter w(ctx, p.url_encode);
  XmlWriter xml("ListBucketResult");
  w.Header(xml, p);
  xml.Element("Marker", w.Enc(marker)).Element("MaxKeys", std::to_string(p.max_keys));
  w.Tail(xml, p, r);
  // S3 sends NextMarker only with a delimiter; without one, clients resume after the last key.
  if (r.truncated && !p.options.delimiter.empty()) xml.Element("NextMarker", w.Enc(r.last));
  w.Entries(xml, r, /*owner=*/true);
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status ListObjectsV2(Context& ctx) {
  ASSIGN_OR_RETURN(ListParams p, ParseCommon(ctx));
  auto token = ctx.req.Query("continuation-token");
  std::string start_after(ctx.req.Query("start-after").value_or(""));
  p.options.start_after = start_after;
  if (token) {
    auto decoded = Base64Decode(*token);
    if (!decoded || !StartsWith(*decoded, "1:")) {
      return S3Error("InvalidArgument", "The continuation token provided is incorrect");
    }
    p.options.start_after = std::max(start_after, decoded->substr(2));
  }
  ASSIGN_OR_RETURN(store::ListResult r, ctx.backend->ListObjects(ctx.bucket, p.options));
  ListWriter w(ctx, p.url_encode);
  XmlWriter xml("ListBucketResult");
  w.Header(xml, p);
  if (ctx.req.Query("start-after")) xml.Element("StartAfter", w.Enc(start_after));
  if (token) xml.Element("ContinuationToken", *token);
  xml.Element("KeyCount", std::to_string(r.objects.size() + r.common_prefixes.size()))
      .Element("MaxKeys", std::to_string(p.max_keys));
  w.Tail(xml, p, r);
  if (r.truncated) xml.Element("NextContinuationToken", Base64Encode("1:" + r.last));
  auto fetch_owner = ctx.req.Query("fetch-owner");
  w.Entries(xml, r, fetch_owner && *fetch_owner == "true");
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

}  // namespace skyway::s3
