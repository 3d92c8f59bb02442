// Addressing (path-style and virtual-host-style) and the one routing table of the S3 API.
#include <cstdio>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

// Sub-resources of S3 this server does not implement yet: answered NotImplemented rather than
// misread as a plain GET or PUT of the bucket or object.
constexpr const char* kUnsupported[] = {
    "acl",        "policy",     "policyStatus", "cors",          "lifecycle",   "website",
    "logging",    "notification", "replication", "encryption",   "object-lock", "retention",
    "legal-hold", "tagging",    "uploads",      "uploadId",      "versions",    "versionId",
    "delete",     "restore",    "select",       "torrent",       "accelerate",  "requestPayment",
    "analytics",  "inventory",  "metrics",      "intelligent-tiering", "ownershipControls",
    "publicAccessBlock", "attributes"};

Status UnsupportedSubresource(const http::Request& req) {
  for (const char* name : kUnsupported) {
    if (req.Query(name)) {
      return S3Error("NotImplemented", std::string("the '") + name +
                                           "' sub-resource is not supported by this server");
    }
  }
  return Status::Ok();
}

// Splits the request into bucket and key. Virtual-host-style when the Host is
// "<bucket>.<domain>" for a configured domain; path-style otherwise.
Status ResolveAddress(Context& ctx) {
  std::string host(ctx.req.headers.Get("host").value_or(""));
  if (size_t colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
    host.resize(colon);
  }
  host = ToLower(host);
  std::string path = ctx.req.path;
  for (const std::string& domain : ctx.config.domains) {
    if (host.size() > domain.size() + 1 && host.compare(host.size() - domain.size(), domain.size(), domain) == 0 &&
        host[host.size() - domain.size() - 1] == '.') {
      ctx.bucket = host.substr(0, host.size() - domain.size() - 1);
      ctx.key = path.size() > 1 ? path.substr(1) : "";
      return Status::Ok();
    }
  }
  if (path.empty() || path[0] != '/') return S3Error("InvalidURI");
  size_t slash = path.find('/', 1);
  ctx.bucket = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  ctx.key = slash == std::string::npos ? "" : path.substr(slash + 1);
  return Status::Ok();
}

Status RouteService(Context& ctx) {
  if (ctx.req.method == "GET") return ListBuckets(ctx);
  return S3Error("MethodNotAllowed");
}

Status RouteBucket(Context& ctx) {
  const http::Request& req = ctx.req;
  if (req.method == "GET" && req.Query("location")) return GetBucketLocation(ctx);
  if (req.method == "GET" && req.Query("versioning")) return GetBucketVersioning(ctx);
  if (req.method == "GET" && req.Query("uploads")) return ListMultipartUploads(ctx);
  if (req.method == "POST" && req.Query("delete")) return DeleteObjects(ctx);
  RETURN_IF_ERROR(UnsupportedSubresource(req));
  if (req.method == "PUT") return CreateBucket(ctx);
  if (req.method == "HEAD") return HeadBucket(ctx);
  if (req.method == "DELETE") return DeleteBucket(ctx);
  if (req.method == "GET") {
    auto list_type = req.Query("list-type");
    if (list_type && *list_type == "2") return ListObjectsV2(ctx);
    if (list_type) return S3Error("InvalidArgument", "list-type must be 2");
    return ListObjectsV1(ctx);
  }
  return S3Error("MethodNotAllowed");
}

Status RouteObject(Context& ctx) {
  const http::Request& req = ctx.req;
  const std::string& m = req.method;
  if (ctx.key.size() > ctx.config.max_key_bytes) return S3Error("KeyTooLongError");
  bool copy = req.headers.Get("x-amz-copy-source").has_value();
  if (req.Query("tagging")) {
    if (m == "GET") return GetObjectTagging(ctx);
    if (m == "PUT") return PutObjectTagging(ctx);
    if (m == "DELETE") return DeleteObjectTagging(ctx);
    return S3Error("MethodNotAllowed");
  }
  if (req.Query("uploadId")) {
    if (m == "PUT" && req.Query("partNumber")) return copy ? UploadPartCopy(ctx) : UploadPart(ctx);
    if (m == "POST") return CompleteMultipartUpload(ctx);
    if (m == "DELETE") return AbortMultipartUpload(ctx);
    if (m == "GET") return ListParts(ctx);
    return S3Error("MethodNotAllowed");
  }
  if (m == "POST" && req.Query("uploads")) return CreateMultipartUpload(ctx);
  RETURN_IF_ERROR(UnsupportedSubresource(req));
  if (m == "PUT") return copy ? CopyObject(ctx) : PutObject(ctx);
  if (m == "GET") return GetObject(ctx, /*head=*/false);
  if (m == "HEAD") return GetObject(ctx, /*head=*/true);
  if (m == "DELETE") return DeleteObject(ctx);
  return S3Error("MethodNotAllowed");
}

}  // namespace

Service::Service(store::Backend* backend, Config config)
    : backend_(backend), config_(std::move(config)), host_id_(HexEncode(RandomBytes(8))) {}

void Service::Handle(http::Request& request, http::Response& response) {
  char id[32];
  snprintf(id, sizeof(id), "%016llX", static_cast<unsigned long long>(next_request_++));
  Context ctx{request, response, config_, backend_, host_id_ + id, "", "", "", std::nullopt};
  Status st = ResolveAddress(ctx);
  if (st.ok()) st = Authenticate(ctx);
  if (st.ok()) {
    if (ctx.bucket.empty()) {
      st = RouteService(ctx);
    } else if (ctx.key.empty()) {
      st = RouteBucket(ctx);
    } else {
      st = RouteObject(ctx);
    }
  }
  if (!st.ok()) {
    WriteError(ctx, st);
  } else {
    response.headers.Set("x-amz-request-id", ctx.request_id);
  }
}

}  // namespace skyway::s3
