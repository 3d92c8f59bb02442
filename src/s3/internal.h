// Private to s3/: the request context, error table, authentication and XML helpers shared by
// the operation handlers.
#pragma once

#include <string>
#include <string_view>

#include "s3/s3.h"

namespace skyway::s3 {

// ---- errors (errors.cc is the one place an S3 error code meets its status and message) ------

// A Status whose reason is the S3 error code; message empty means the table's message.
Status S3Error(std::string_view code, std::string message = "");
// The HTTP status of an S3 error code (500 for codes not in the table).
int HttpStatusOf(std::string_view code);
// The S3 code for any status: its reason if it names a table entry, else one by Code.
std::string S3CodeOf(const Status& status);

// ---- per-request context --------------------------------------------------------------------

struct Context {
  http::Request& req;
  http::Response& resp;
  const Config& config;
  store::Backend* backend;
  std::string request_id;
  std::string bucket;        // empty for service-level requests
  std::string key;           // empty for bucket-level requests
  std::string payload_hash;  // x-amz-content-sha256 as authenticated
};

// Writes the S3 XML error reply for status into ctx.resp.
void WriteError(Context& ctx, const Status& status);

// ---- authentication (auth.cc) ---------------------------------------------------------------

// Verifies the request's SigV4 signature (Authorization header). On success sets
// ctx.payload_hash. Errors: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
// AuthorizationHeaderMalformed, RequestTimeTooSkewed, InvalidRequest, NotImplemented.
Status Authenticate(Context& ctx);

// Reads the whole request body (for small XML bodies), checking it against the signed payload
// hash. Errors: XAmzContentSHA256Mismatch, IncompleteBody, MalformedXML (too large).
Result<std::string> ReadSmallBody(Context& ctx, size_t max_bytes);

// ---- XML (xml.cc) ---------------------------------------------------------------------------

// Builds an XML document element by element, escaping text.
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root, bool with_namespace = true);
  XmlWriter& Open(std::string_view name);
  XmlWriter& Close(std::string_view name);
  XmlWriter& Element(std::string_view name, std::string_view text);
  std::string Finish();

 private:
  std::string out_;
  std::string root_;
};

std::string XmlEscape(std::string_view text);

// Parses an optional CreateBucketConfiguration body; returns its LocationConstraint ("" if
// none). Errors: MalformedXML.
Result<std::string> ParseCreateBucketConfiguration(std::string_view body);

// ---- operations ---------------------------------------------------------------------------

Status ListBuckets(Context& ctx);
Status CreateBucket(Context& ctx);
Status HeadBucket(Context& ctx);
Status DeleteBucket(Context& ctx);
Status GetBucketLocation(Context& ctx);
Status GetBucketVersioning(Context& ctx);
Status ListObjectsV1(Context& ctx);
Status ListObjectsV2(Context& ctx);
Status PutObject(Context& ctx);
Status GetObject(Context& ctx, bool head);
Status DeleteObject(Context& ctx);

// Rules of bucket naming; returns InvalidBucketName with the broken rule.
Status ValidateBucketName(std::string_view name);

}  // namespace skyway::s3
