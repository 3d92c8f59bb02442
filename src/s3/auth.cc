// SigV4 verification of the Authorization header. Anonymous requests are refused.
#include <cstdlib>

#include "s3/internal.h"
#include "sigv4/sigv4.h"

namespace skyway::s3 {
namespace {

bool IsHexSha256(std::string_view v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const Credential* FindCredential(const Config& config, std::string_view access_key) {
  for (const auto& c : config.credentials) {
    if (c.access_key == access_key) return &c;
  }
  return nullptr;
}

// The request time from x-amz-date (or Date), checked against the allowed clock skew.
Result<std::string> RequestTime(const Context& ctx) {
  auto amz_date = ctx.req.headers.Get("x-amz-date");
  auto date = amz_date ? amz_date : ctx.req.headers.Get("date");
  if (!date) return S3Error("AccessDenied", "the request has no x-amz-date or Date header");
  auto when = ParseHttpDate(*date);
  if (!when) return S3Error("AccessDenied", "the request date is malformed");
  int64_t now = NowNanos() / 1000000000;
  if (std::llabs(now - *when) > ctx.config.max_clock_skew_seconds) {
    return S3Error("RequestTimeTooSkewed");
  }
  return FormatAmzDate(*when);
}

Status CheckScope(const Context& ctx, const sigv4::Authorization& auth, std::string_view amz_date) {
  if (auth.scope.date != amz_date.substr(0, 8)) {
    return S3Error("AuthorizationHeaderMalformed",
                   "the credential date does not match the date of the request");
  }
  if (auth.scope.region != ctx.config.region) {
    return S3Error("AuthorizationHeaderMalformed", "the region '" + auth.scope.region +
                                                       "' is wrong; expecting '" +
                                                       ctx.config.region + "'");
  }
  if (auth.scope.service != "s3") {
    return S3Error("AuthorizationHeaderMalformed", "the credential service must be s3");
  }
  bool signs_host = false;
  for (const auto& h : auth.signed_headers) signs_host |= h == "host";
  if (!signs_host) return S3Error("AccessDenied", "the host header must be signed");
  return Status::Ok();
}

}  // namespace

Status Authenticate(Context& ctx) {
  auto header = ctx.req.headers.Get("authorization");
  if (!header) {
    if (ctx.req.Query("X-Amz-Signature")) {
      return S3Error("NotImplemented", "presigned URLs are not supported yet");
    }
    return S3Error("AccessDenied", "anonymous requests are not allowed");
  }
  if (StartsWith(*header, "AWS ")) {
    return S3Error("InvalidRequest",
                   "the authorization mechanism you have provided is not supported; please use "
                   "AWS4-HMAC-SHA256");
  }
  auto parsed = sigv4::ParseAuthorization(*header);
  if (!parsed.ok()) return S3Error("AuthorizationHeaderMalformed", parsed.status().message());
  const sigv4::Authorization& auth = *parsed;
  const Credential* cred = FindCredential(ctx.config, auth.access_key);
  if (cred == nullptr) return S3Error("InvalidAccessKeyId");
  ASSIGN_OR_RETURN(std::string amz_date, RequestTime(ctx));
  RETURN_IF_ERROR(CheckScope(ctx, auth, amz_date));
  auto payload = ctx.req.headers.Get("x-amz-content-sha256");
  if (!payload) {
    return S3Error("InvalidRequest", "missing required header for this request: x-amz-content-sha256");
  }
  if (StartsWith(*payload, "STREAMING-")) {
    return S3Error("NotImplemented", "aws-chunked uploads are not supported yet");
  }
  if (*payload != sigv4::kUnsignedPayload && !IsHexSha256(*payload)) {
    return S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256");
  }
  sigv4::RequestParts parts{ctx.req.method, ctx.req.path, ctx.req.query, ctx.req.headers.all(),
                            std::string(*payload)};
  std::string canonical = sigv4::CanonicalRequest(parts, auth.signed_headers);
  std::string expected = sigv4::Sign(sigv4::SigningKey(cred->secret_key, auth.scope),
                                     sigv4::StringToSign(amz_date, auth.scope, canonical));
  if (!sigv4::ConstantTimeEquals(expected, auth.signature)) return S3Error("SignatureDoesNotMatch");
  ctx.payload_hash = std::string(*payload);
  return Status::Ok();
}

Result<std::string> ReadSmallBody(Context& ctx, size_t max_bytes) {
  auto body = ctx.req.ReadBody(max_bytes);
  if (!body.ok()) {
    if (body.status().code() == Code::kResourceExhausted) {
      return S3Error("MalformedXML", "the request body is too large");
    }
    return S3Error("IncompleteBody", body.status().message());
  }
  if (ctx.payload_hash != sigv4::kUnsignedPayload && Sha256Hex(*body) != ctx.payload_hash) {
    return S3Error("XAmzContentSHA256Mismatch");
  }
  return body;
}

}  // namespace skyway::s3
