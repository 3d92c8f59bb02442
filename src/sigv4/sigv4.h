// sigv4: AWS Signature Version 4 computations, shared by the server (to verify) and by clients
// and benchmarks (to sign). Pure functions over strings; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/common.h"

namespace skyway::sigv4 {

inline constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";
inline constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Pairs = std::vector<std::pair<std::string, std::string>>;

// The parts of a request that a signature covers.
struct RequestParts {
  std::string method;
  std::string path;          // decoded path, e.g. "/bucket/my key"
  Pairs query;               // decoded names and values
  Pairs headers;             // every header of the request (any case); only signed ones count
  std::string payload_hash;  // hex SHA-256, or UNSIGNED-PAYLOAD, ...
};

struct Scope {
  std::string date;     // YYYYMMDD
  std::string region;
  std::string service;  // "s3"
  std::string ToString() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// The fields of an "Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." header.
struct Authorization {
  std::string access_key;
  Scope scope;
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;                    // lowercase hex
};

// Errors: kInvalidArgument with a message that says which part is malformed.
Result<Authorization> ParseAuthorization(std::string_view header);

// S3's canonical URI: every byte but unreserved characters and '/' percent-encoded, once.
std::string CanonicalUri(std::string_view decoded_path);
// Sorted by name then value, each encoded; the pair named `skip` (if any) left out.
std::string CanonicalQuery(const Pairs& query, std::string_view skip = "");
// Canonical request over the named headers (lowercase, in the given order). A signed header
// missing from the request contributes an empty value.
std::string CanonicalRequest(const RequestParts& request,
                             const std::vector<std::string>& signed_headers);
std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request);
// The derived key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
std::string SigningKey(std::string_view secret, const Scope& scope);
// Hex signature of string_to_sign under a derived key.
std::string Sign(std::string_view signing_key, std::string_view string_to_sign);
// Compares two strings in time that depends only on their length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Signs a request for clients and benchmarks: adds x-amz-date, x-amz-content-sha256 and the
// Authorization header to request.headers. Signs every header present (host included).
void SignRequest(RequestParts* request, std::string_view access_key, std::string_view secret_key,
                 std::string_view region, int64_t unix_seconds);
// The same with a key derived already (SigningKey(secret, scope)), for clients that keep it for
// the day. amz_date is the request time, YYYYMMDDTHHMMSSZ, within scope.date.
void SignRequestWithKey(RequestParts* request, std::string_view access_key,
                        std::string_view signing_key, const Scope& scope,
                        const std::string& amz_date);

}  // namespace skyway::sigv4
