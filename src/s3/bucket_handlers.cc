// Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
// GetBucketVersioning.
#include <arpa/inet.h>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

// Every bucket operation but CreateBucket needs the bucket to exist.
Status RequireBucket(Context& ctx) {
  RETURN_IF_ERROR(ValidateBucketName(ctx.bucket).ok() ? Status::Ok() : S3Error("NoSuchBucket"));
  return ctx.backend->GetBucket(ctx.bucket).status();
}

}  // namespace

Status ValidateBucketName(std::string_view name) {
  auto bad = [](std::string why) { return S3Error("InvalidBucketName", "The specified bucket is not valid: " + why); };
  if (name.size() < 3 || name.size() > 63) return bad("it must be 3 to 63 characters long");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return bad("it must begin and end with a letter or digit");
  }
  if (name.find("..") != std::string_view::npos) return bad("it must not have adjacent dots");
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(name).c_str(), &addr) == 1) {
    return bad("it must not be formatted as an IP address");
  }
  if (StartsWith(name, "xn--") || StartsWith(name, "sthree-")) return bad("reserved prefix");
  for (std::string_view suffix : {"-s3alias", "--ol-s3", ".mrap", "--x-s3"}) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return bad("reserved suffix");
    }
  }
  return Status::Ok();
}

Status ListBuckets(Context& ctx) {
  ASSIGN_OR_RETURN(auto buckets, ctx.backend->ListBuckets());
  std::string owner = OwnerId(ctx);
  XmlWriter xml("ListAllMyBucketsResult");
  xml.Open("Owner").Element("ID", owner).Element("DisplayName", "skyway").Close("Owner");
  xml.Open("Buckets");
  for (const auto& b : buckets) {
    xml.Open("Bucket")
        .Element("Name", b.name)
        .Element("CreationDate", FormatIso8601Millis(b.created_nanos))
        .Close("Bucket");
  }
  xml.Close("Buckets");
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status CreateBucket(Context& ctx) {
  RETURN_IF_ERROR(ValidateBucketName(ctx.bucket));
  ASSIGN_OR_RETURN(std::string body, ReadSmallBody(ctx, 64 * 1024));
  ASSIGN_OR_RETURN(std::string location, ParseCreateBucketConfiguration(body));
  bool default_region = location.empty() && ctx.config.region == "us-east-1";
  if (!default_region && location != ctx.config.region) {
    return S3Error("IllegalLocationConstraintException",
                   "the " + (location.empty() ? std::string("unspecified") : "'" + location + "'") +
                       " location constraint is incompatible with the region '" +
                       ctx.config.region + "' of this endpoint");
  }
  RETURN_IF_ERROR(ctx.backend->CreateBucket(ctx.bucket, ctx.config.region));
  ctx.resp.headers.Set("Location", "/" + ctx.bucket);
  return Status::Ok();
}

Status HeadBucket(Context& ctx) {
  RETURN_IF_ERROR(RequireBucket(ctx));
  ctx.resp.headers.Set("x-amz-bucket-region", ctx.config.region);
  return Status::Ok();
}

Status DeleteBucket(Context& ctx) {
  RETURN_IF_ERROR(RequireBucket(ctx));
  RETURN_IF_ERROR(ctx.backend->DeleteBucket(ctx.bucket));
  ctx.resp.status = 204;
  return Status::Ok();
}

Status GetBucketLocation(Context& ctx) {
  RETURN_IF_ERROR(RequireBucket(ctx));
  // S3 answers an empty constraint for us-east-1.
  std::string region = ctx.config.region == "us-east-1" ? "" : ctx.config.region;
  SetXmlBody(ctx, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
                  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
                      XmlEscape(region) + "</LocationConstraint>");
  return Status::Ok();
}

Status GetBucketVersioning(Context& ctx) {
  RETURN_IF_ERROR(RequireBucket(ctx));
  // Versioning is never enabled here: S3 answers an empty configuration for such a bucket.
  SetXmlBody(ctx, XmlWriter("VersioningConfiguration").Finish());
  return Status::Ok();
}

}  // namespace skyway::s3
