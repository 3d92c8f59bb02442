// Addressing (path-style and virtual-host-style) and the one routing table of the S3 API.
#include <cstdio>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

// Sub-resources of S3 this server does not implement yet: answered NotImplemented rather than
// misread as a plain GET or PUT of the bucket or object.
constexpr const char* kUnsupported[] = {
    "versioning", "location", "acl",        "policy",     "policyStatus", "cors",          "lifecycle",   "website",
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

// Names the operation (for metrics and logs) and runs it.
Status Run(Context& ctx, const char* operation, Status (*handler)(Context&)) {
  ctx.operation = operation;
  return handler(ctx);
}

Status RouteService(Context& ctx) {
  if (ctx.req.method == "GET") return Run(ctx, "ListBuckets", ListBuckets);
  return S3Error("MethodNotAllowed");
}

Status RouteBucket(Context& ctx) {
  const http::Request& req = ctx.req;
  if (req.method == "GET" && req.Query("location")) return Run(ctx, "GetBucketLocation", GetBucketLocation);
  if (req.method == "GET" && req.Query("versioning")) return Run(ctx, "GetBucketVersioning", GetBucketVersioning);
  if (req.method == "GET" && req.Query("uploads")) return Run(ctx, "ListMultipartUploads", ListMultipartUploads);
  if (req.method == "POST" && req.Query("delete")) return Run(ctx, "DeleteObjects", DeleteObjects);
  RETURN_IF_ERROR(UnsupportedSubresource(req));
  if (req.method == "PUT") return Run(ctx, "CreateBucket", CreateBucket);
  if (req.method == "HEAD") return Run(ctx, "HeadBucket", HeadBucket);
  if (req.method == "DELETE") return Run(ctx, "DeleteBucket", DeleteBucket);
  if (req.method == "GET") {
    auto list_type = req.Query("list-type");
    if (list_type && *list_type == "2") return Run(ctx, "ListObjectsV2", ListObjectsV2);
    if (list_type) return S3Error("InvalidArgument", "list-type must be 2");
    return Run(ctx, "ListObjectsV1", ListObjectsV1);
  }
  return S3Error("MethodNotAllowed");
}

Status RouteObject(Context& ctx) {
  const http::Request& req = ctx.req;
  const std::string& m = req.method;
  if (ctx.key.size() > ctx.config.max_key_bytes) return S3Error("KeyTooLongError");
  bool copy = req.headers.Get("x-amz-copy-source").has_value();
  if (req.Query("tagging")) {
    if (m == "GET") return Run(ctx, "GetObjectTagging", GetObjectTagging);
    if (m == "PUT") return Run(ctx, "PutObjectTagging", PutObjectTagging);
    if (m == "DELETE") return Run(ctx, "DeleteObjectTagging", DeleteObjectTagging);
    return S3Error("MethodNotAllowed");
  }
  if (req.Query("uploadId")) {
    if (m == "PUT" && req.Query("partNumber")) return copy ? Run(ctx, "UploadPartCopy", UploadPartCopy) : Run(ctx, "UploadPart", UploadPart);
    if (m == "POST") return Run(ctx, "CompleteMultipartUpload", CompleteMultipartUpload);
    if (m == "DELETE") return Run(ctx, "AbortMultipartUpload", AbortMultipartUpload);
    if (m == "GET") return Run(ctx, "ListParts", ListParts);
    return S3Error("MethodNotAllowed");
  }
  if (m == "POST" && req.Query("uploads")) return Run(ctx, "CreateMultipartUpload", CreateMultipartUpload);
  RETURN_IF_ERROR(UnsupportedSubresource(req));
  if (m == "PUT") return copy ? Run(ctx, "CopyObject", CopyObject) : Run(ctx, "PutObject", PutObject);
  if (m == "GET") return Run(ctx, "GetObject", [](Context& c) { return GetObject(c, false); });
  if (m == "HEAD") return Run(ctx, "HeadObject", [](Context& c) { return GetObject(c, true); });
  if (m == "DELETE") return Run(ctx, "DeleteObject", DeleteObject);
  return S3Error("MethodNotAllowed");
}

}  // namespace

Service::Service(store::Backend* backend, Config config)
    : backend_(backend), config_(std::move(config)), host_id_(HexEncode(RandomBytes(8))) {}

void Service::Handle(http::Request& request, http::Response& response) {
  int64_t start = NowNanos();
  if (request.method == "GET" && request.path == "/_skyway/health") {
    response.headers.Set("Content-Type", "text/plain");
    response.SetBody("ok\n");
    return;
  }
  if (request.method == "GET" && request.path == "/_skyway/metrics") {
    response.headers.Set("Content-Type", "text/plain; version=0.0.4");
    response.SetBody(metrics_.Render());
    return;
  }
  if (request.method == "GET" && request.path == "/_skyway/direct") {
    response.status = config_.regions ? 200 : 404;
    response.headers.Set("Content-Type", "text/plain");
    response.SetBody(config_.regions ? config_.direct_socket + "\n" : "the direct path is off\n");
    return;
  }
  char id[32];
  snprintf(id, sizeof(id), "%016llX", static_cast<unsigned long long>(next_request_++));
  Context ctx(request, response, config_, backend_, host_id_ + id);
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
  if (!ctx.rdma_reply.empty()) response.headers.Set("x-amz-rdma-reply", ctx.rdma_reply);
  uint64_t bytes_in = ParseUint64(request.headers.Get("content-length").value_or("0")).value_or(0);
  uint64_t bytes_out = request.method == "HEAD" ? 0 : response.BodyLength();
  metrics_.Record(ctx.operation, response.status, bytes_in, bytes_out,
                  static_cast<double>(NowNanos() - start) / 1e9);
}

}  // namespace skyway::s3
