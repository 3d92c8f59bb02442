// SigV4 verification of the Authorization header. Anonymous requests are refused.
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "s3/internal.h"
#include "sigv4/sigv4.h"

namespace skyway::s3 {
namespace {

constexpr char kSignedChunks[] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
constexpr char kSignedChunksTrailer[] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
constexpr char kUnsignedChunksTrailer[] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

bool IsHexSha256(std::string_view v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The derived signing key changes once a day per credential and region: computing it takes four
// HMACs, a fifth of the cost of checking a small request, so it is kept.
std::string CachedSigningKey(const std::string& secret, const sigv4::Scope& scope) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::string> cache;
  std::string id = secret + "\n" + scope.ToString();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(id);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 1024) cache.clear();
  return cache[id] = sigv4::SigningKey(secret, scope);
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

// The check both forms share: scope, then the signature over the canonical request.
Status VerifySignature(Context& ctx, const sigv4::Authorization& auth, const std::string& amz_date,
                       std::string_view payload_hash, std::string_view skip_query) {
  const Credential* cred = FindCredential(ctx.config, auth.access_key);
  if (cred == nullptr) return S3Error("InvalidAccessKeyId");
  RETURN_IF_ERROR(CheckScope(ctx, auth, amz_date));
  sigv4::RequestParts parts{ctx.req.method, ctx.req.path, {}, ctx.req.headers.all(),
                            std::string(payload_hash)};
  for (const auto& q : ctx.req.query) {
    if (q.first != skip_query) parts.query.push_back(q);
  }
  std::string canonical = sigv4::CanonicalRequest(parts, auth.signed_headers);
  std::string expected = sigv4::Sign(CachedSigningKey(cred->secret_key, auth.scope),
                                     sigv4::StringToSign(amz_date, auth.scope, canonical));
  if (!sigv4::ConstantTimeEquals(expected, auth.signature)) return S3Error("SignatureDoesNotMatch");
  return Status::Ok();
}

Status AuthenticateHeader(Context& ctx, std::string_view header) {
  if (StartsWith(header, "AWS ")) {
    return S3Error("InvalidRequest",
                   "the authorization mechanism you have provided is not supported; please use "
                   "AWS4-HMAC-SHA256");
  }
  auto parsed = sigv4::ParseAuthorization(header);
  if (!parsed.ok()) return S3Error("AuthorizationHeaderMalformed", parsed.status().message());
  if (!FindCredential(ctx.config, parsed->access_key)) return S3Error("InvalidAccessKeyId");
  ASSIGN_OR_RETURN(std::string amz_date, RequestTime(ctx));
  auto payload = ctx.req.headers.Get("x-amz-content-sha256");
  if (!payload) {
    return S3Error("InvalidRequest", "missing required header for this request: x-amz-content-sha256");
  }
  bool signed_chunks = *payload == kSignedChunks || *payload == kSignedChunksTrailer;
  if (StartsWith(*payload, "STREAMING-") && !signed_chunks && *payload != kUnsignedChunksTrailer) {
    return S3Error("NotImplemented", "the payload signing mode " + std::string(*payload) +
                                         " is not supported");
  }
  if (!StartsWith(*payload, "STREAMING-") && *payload != sigv4::kUnsignedPayload &&
      !IsHexSha256(*payload)) {
    return S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a SHA-256 "
                                      "or a STREAMING- mode");
  }
  RETURN_IF_ERROR(VerifySignature(ctx, *parsed, amz_date, *payload, ""));
  ctx.payload_hash = std::string(*payload);
  if (signed_chunks) {
    const Credential* cred = FindCredential(ctx.config, parsed->access_key);
    ctx.chunk_signer = ChunkSigner{CachedSigningKey(cred->secret_key, parsed->scope), amz_date,
                                   parsed->scope.ToString(), parsed->signature};
  }
  return Status::Ok();
}

// Query-string authentication (presigned URLs): X-Amz-Algorithm, -Credential, -Date, -Expires,
// -SignedHeaders and -Signature; the payload is unsigned.
Status AuthenticateQuery(Context& ctx) {
  const http::Request& req = ctx.req;
  auto algorithm = req.Query("X-Amz-Algorithm");
  auto credential = req.Query("X-Amz-Credential");
  auto date = req.Query("X-Amz-Date");
  auto expires = req.Query("X-Amz-Expires");
  auto headers = req.Query("X-Amz-SignedHeaders");
  auto signature = req.Query("X-Amz-Signature");
  if (!algorithm || *algorithm != sigv4::kAlgorithm) {
    return S3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
  }
  if (!credential || !date || !expires || !headers || !signature) {
    return S3Error("AuthorizationQueryParametersError",
                   "presigned URLs need X-Amz-Credential, X-Amz-Date, X-Amz-Expires, "
                   "X-Amz-SignedHeaders and X-Amz-Signature");
  }
  auto parsed = sigv4::ParseAuthorization(std::string(sigv4::kAlgorithm) + " Credential=" +
                                          std::string(*credential) + ", SignedHeaders=" +
                                          std::string(*headers) + ", Signature=" +
                                          std::string(*signature));
  if (!parsed.ok()) return S3Error("AuthorizationQueryParametersError", parsed.status().message());
  auto seconds = ParseUint64(*expires);
  auto when = ParseHttpDate(*date);
  if (!seconds || *seconds < 1 || *seconds > 604800 || !when || date->size() != 16) {
    return S3Error("AuthorizationQueryParametersError",
                   "X-Amz-Expires must be 1 to 604800 seconds and X-Amz-Date YYYYMMDDTHHMMSSZ");
  }
  int64_t now = NowNanos() / 1000000000;
  if (*when - now > ctx.config.max_clock_skew_seconds) {
    return S3Error("AccessDenied", "request is not valid yet");
  }
  if (now > *when + static_cast<int64_t>(*seconds)) return S3Error("AccessDenied", "request has expired");
  std::string payload(req.headers.Get("x-amz-content-sha256").value_or(sigv4::kUnsignedPayload));
  RETURN_IF_ERROR(VerifySignature(ctx, *parsed, std::string(*date), payload, "X-Amz-Signature"));
  ctx.payload_hash = sigv4::kUnsignedPayload;
  return Status::Ok();
}

}  // namespace

Status Authenticate(Context& ctx) {
  if (auto header = ctx.req.headers.Get("authorization")) return AuthenticateHeader(ctx, *header);
  if (ctx.req.Query("X-Amz-Signature") || ctx.req.Query("X-Amz-Algorithm")) {
    return AuthenticateQuery(ctx);
  }
  return S3Error("AccessDenied", "anonymous requests are not allowed");
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
