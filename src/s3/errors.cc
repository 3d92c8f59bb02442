// The S3 error table: every error code this server can answer with, its HTTP status and its
// default message. No other file writes an S3 error string.
#include <cstring>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

struct ErrorEntry {
  const char* code;
  int status;
  const char* message;
};

constexpr ErrorEntry kErrors[] = {
    {"AccessDenied", 403, "Access Denied"},
    {"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."},
    {"AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter."},
    {"BadDigest", 400, "The Content-MD5 you specified did not match what we received."},
    {"BadRequest", 400, "The request could not be parsed."},
    {"BucketAlreadyExists", 409, "The requested bucket name is not available."},
    {"BucketAlreadyOwnedByYou", 409,
     "Your previous request to create the named bucket succeeded and you already own it."},
    {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."},
    {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."},
    {"EntityTooSmall", 400,
     "Your proposed upload is smaller than the minimum allowed object size."},
    {"IllegalLocationConstraintException", 400,
     "The location constraint does not match the region of this endpoint."},
    {"IncompleteBody", 400,
     "You did not provide the number of bytes specified by the Content-Length HTTP header."},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidAccessKeyId", 403, "The AWS access key Id you provided does not exist in our records."},
    {"InvalidArgument", 400, "Invalid Argument."},
    {"InvalidBucketName", 400, "The specified bucket is not valid."},
    {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    {"InvalidPart", 400, "One or more of the specified parts could not be found. The part may not "
                         "have been uploaded, or the specified entity tag may not match the "
                         "part's entity tag."},
    {"InvalidPartNumber", 416, "The requested partnumber is not satisfiable."},
    {"InvalidPartOrder", 400,
     "The list of parts was not in ascending order. Parts must be ordered by part number."},
    {"InvalidRange", 416, "The requested range is not satisfiable."},
    {"InvalidRequest", 400, "Invalid Request."},
    {"InvalidTag", 400, "The tag provided was not a valid tag."},
    {"InvalidURI", 400, "Couldn't parse the specified URI."},
    {"KeyTooLongError", 400, "Your key is too long."},
    {"MalformedXML", 400,
     "The XML you provided was not well-formed or did not validate against our published schema."},
    {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."},
    {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
    {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    {"NoSuchBucket", 404, "The specified bucket does not exist."},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be "
                          "invalid, or the multipart upload might have been aborted or completed."},
    {"NotImplemented", 501, "A header or parameter you provided implies functionality that is not "
                            "implemented."},
    {"NotModified", 304, "Not Modified."},
    {"OperationAborted", 409,
     "A conflicting conditional operation is currently in progress against this resource."},
    {"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold."},
    {"RequestHeaderSectionTooLarge", 400,
     "Your request header section exceeds the maximum allowed size."},
    {"RequestTimeout", 400, "Your socket connection to the server was not read from or written to "
                            "within the timeout period."},
    {"RequestTimeTooSkewed", 403,
     "The difference between the request time and the server's time is too large."},
    {"ServiceUnavailable", 503, "Reduce your request rate."},
    {"SignatureDoesNotMatch", 403,
     "The request signature we calculated does not match the signature you provided. Check your "
     "key and signing method."},
    {"XAmzContentSHA256Mismatch", 400,
     "The provided 'x-amz-content-sha256' header does not match what was computed."},
};

const ErrorEntry* Find(std::string_view code) {
  for (const auto& e : kErrors) {
    if (code == e.code) return &e;
  }
  return nullptr;
}

}  // namespace

Status S3Error(std::string_view code, std::string message) {
  return Status(Code::kInvalidArgument, std::string(code), std::move(message));
}

int HttpStatusOf(std::string_view code) {
  const ErrorEntry* e = Find(code);
  return e ? e->status : 500;
}

std::string S3CodeOf(const Status& status) {
  if (Find(status.reason())) return status.reason();
  switch (status.code()) {
    case Code::kResourceExhausted: return "ServiceUnavailable";
    case Code::kAborted: return "IncompleteBody";
    case Code::kUnimplemented: return "NotImplemented";
    default: return "InternalError";
  }
}

void WriteError(Context& ctx, const Status& status) {
  std::string code = S3CodeOf(status);
  const ErrorEntry* entry = Find(code);
  // Messages from S3Error() are written for clients; other layers' messages are for the log.
  bool client_message = status.code() == Code::kInvalidArgument && status.reason() == code;
  std::string message = client_message && !status.message().empty() ? status.message() : entry->message;
  if (code == "InternalError") LogError("request " + ctx.request_id + ": " + status.ToString());
  ctx.resp = http::Response();
  ctx.resp.status = entry->status;
  ctx.resp.headers.Set("x-amz-request-id", ctx.request_id);
  if (entry->status == 304 || ctx.req.method == "HEAD") return;  // no body allowed / expected
  XmlWriter xml("Error", /*with_namespace=*/false);
  xml.Element("Code", code).Element("Message", message);
  if (!ctx.bucket.empty()) xml.Element("BucketName", ctx.bucket);
  if (!ctx.key.empty()) xml.Element("Key", ctx.key);
  xml.Element("Resource", ctx.req.raw_path).Element("RequestId", ctx.request_id);
  ctx.resp.headers.Set("Content-Type", "application/xml");
  ctx.resp.SetBody(xml.Finish());
}

void Service::FormatProtocolError(int status, std::string_view reason, std::string_view message,
                                  http::Response& response) {
  const ErrorEntry* entry = Find(reason);
  XmlWriter xml("Error", false);
  xml.Element("Code", entry ? entry->code : "BadRequest")
      .Element("Message", message.empty() && entry ? entry->message : message);
  response.status = entry ? entry->status : status;
  response.headers.Set("Content-Type", "application/xml");
  response.SetBody(xml.Finish());
}

}  // namespace skyway::s3
