// Object tagging (Get/Put/DeleteObjectTagging) and DeleteObjects (batch delete).
#include "s3/internal.h"

namespace skyway::s3 {
namespace {

constexpr size_t kMaxRequestXml = 2 << 20;

Status ReplaceTags(Context& ctx, const Attrs& tags) {
  ASSIGN_OR_RETURN(store::ObjectMeta meta, ctx.backend->HeadObject(ctx.bucket, ctx.key));
  Attrs attrs;
  for (auto& a : meta.attrs) {
    if (a.first != kTaggingAttr) attrs.push_back(std::move(a));
  }
  if (!tags.empty()) attrs.emplace_back(kTaggingAttr, EncodeTagQuery(tags));
  return ctx.backend->SetObjectAttrs(ctx.bucket, ctx.key, std::move(attrs));
}

}  // namespace

Status GetObjectTagging(Context& ctx) {
  ASSIGN_OR_RETURN(store::ObjectMeta meta, ctx.backend->HeadObject(ctx.bucket, ctx.key));
  Attrs tags;
  if (auto query = FindAttr(meta.attrs, kTaggingAttr)) {
    ASSIGN_OR_RETURN(tags, ParseTagQuery(*query));
  }
  XmlWriter xml("Tagging");
  xml.Open("TagSet");
  for (const auto& [k, v] : tags) xml.Open("Tag").Element("Key", k).Element("Value", v).Close("Tag");
  xml.Close("TagSet");
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status PutObjectTagging(Context& ctx) {
  ASSIGN_OR_RETURN(std::string body, ReadSmallBody(ctx, kMaxRequestXml));
  ASSIGN_OR_RETURN(Attrs tags, ParseTaggingXml(body));
  return ReplaceTags(ctx, tags);
}

Status DeleteObjectTagging(Context& ctx) {
  RETURN_IF_ERROR(ReplaceTags(ctx, {}));
  ctx.resp.status = 204;
  return Status::Ok();
}

Status DeleteObjects(Context& ctx) {
  RETURN_IF_ERROR(ctx.backend->GetBucket(ctx.bucket).status());
  ASSIGN_OR_RETURN(std::string body, ReadSmallBody(ctx, kMaxRequestXml));
  if (auto md5 = ctx.req.headers.Get("content-md5")) {
    auto raw = Base64Decode(*md5);
    if (!raw || raw->size() != 16) return S3Error("InvalidDigest");
    if (HexEncode(*raw) != Md5Hex(body)) return S3Error("BadDigest");
  }
  ASSIGN_OR_RETURN(DeleteRequest request, ParseDeleteObjects(body));
  XmlWriter xml("DeleteResult");
  for (const std::string& key : request.keys) {
    Status st = key.size() > ctx.config.max_key_bytes ? S3Error("KeyTooLongError")
                                                      : ctx.backend->DeleteObject(ctx.bucket, key);
    if (st.ok()) {
      if (!request.quiet) xml.Open("Deleted").Element("Key", key).Close("Deleted");
    } else {
      std::string code = S3CodeOf(st);
      xml.Open("Error").Element("Key", key).Element("Code", code);
      xml.Element("Message", st.message()).Close("Error");
    }
  }
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

}  // namespace skyway::s3
