#include "sigv4/sigv4.h"

#include <algorithm>

namespace skyway::sigv4 {
namespace {

Status Malformed(std::string msg) {
  return Status(Code::kInvalidArgument, "AuthorizationHeaderMalformed", std::move(msg));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// Header values as signed: trimmed, with runs of spaces collapsed to one.
std::string CanonicalHeaderValue(std::string_view v) {
  v = Trim(v);
  std::string out;
  out.reserve(v.size());
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<Authorization> ParseAuthorization(std::string_view header) {
  std::string_view prefix = kAlgorithm;
  if (!StartsWith(header, prefix) || header.size() == prefix.size() ||
      header[prefix.size()] != ' ') {
    return Malformed("the authorization header must start with AWS4-HMAC-SHA256");
  }
  Authorization auth;
  bool have_credential = false, have_headers = false, have_signature = false;
  for (const std::string& raw : Split(header.substr(prefix.size() + 1), ',')) {
    std::string_view part = Trim(raw);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return Malformed("malformed authorization field");
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "Credential") {
      std::vector<std::string> f = Split(value, '/');
      if (f.size() != 5 || f[0].empty() || f[4] != "aws4_request" || f[1].size() != 8) {
        return Malformed("malformed Credential: expected AK/YYYYMMDD/region/service/aws4_request");
      }
      auth.access_key = f[0];
      auth.scope = Scope{f[1], f[2], f[3]};
      have_credential = true;
    } else if (name == "SignedHeaders") {
      auth.signed_headers = Split(value, ';');
      have_headers = !value.empty();
    } else if (name == "Signature") {
      auth.signature = std::string(value);
      have_signature = value.size() == 64;
    } else {
      return Malformed("unknown authorization field: " + std::string(name));
    }
  }
  if (!have_credential || !have_headers || !have_signature) {
    return Malformed("the authorization header needs Credential, SignedHeaders and Signature");
  }
  return auth;
}

std::string CanonicalUri(std::string_view decoded_path) {
  return decoded_path.empty() ? "/" : UrlEncode(decoded_path, /*keep_slash=*/true);
}

std::string CanonicalQuery(const Pairs& query, std::string_view skip) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    if (!skip.empty() && name == skip) continue;
    encoded.emplace_back(UrlEncode(name, false), UrlEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name + "=" + value;
  }
  return out;
}

std::string CanonicalRequest(const RequestParts& r, const std::vector<std::string>& signed_headers) {
  std::string out = r.method + "\n" + CanonicalUri(r.path) + "\n" + CanonicalQuery(r.query) + "\n";
  for (const std::string& name : signed_headers) {
    std::string value;
    for (const auto& [hname, hvalue] : r.headers) {
      if (!EqualsIgnoreCase(hname, name)) continue;
      if (!value.empty()) value.push_back(',');
      value += CanonicalHeaderValue(hvalue);
    }
    out += name + ":" + value + "\n";
  }
  out += "\n";
  for (size_t i = 0; i < signed_headers.size(); i++) {
    if (i > 0) out.push_back(';');
    out += signed_headers[i];
  }
  out += "\n" + r.payload_hash;
  return out;
}

std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + scope.ToString() + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret, const Scope& scope) {
  std::string k = HmacSha256("AWS4" + std::string(secret), scope.date);
  k = HmacSha256(k, scope.region);
  k = HmacSha256(k, scope.service);
  return HmacSha256(k, "aws4_request");
}

std::string Sign(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void SignRequest(RequestParts* r, std::string_view access_key, std::string_view secret_key,
                 std::string_view region, int64_t unix_seconds) {
  std::string amz_date = FormatAmzDate(unix_seconds);
  Scope scope{amz_date.substr(0, 8), std::string(region), "s3"};
  SignRequestWithKey(r, access_key, SigningKey(secret_key, scope), scope, amz_date);
}

void SignRequestWithKey(RequestParts* r, std::string_view access_key, std::string_view signing_key,
                        const Scope& scope, const std::string& amz_date) {
  r->headers.emplace_back("x-amz-date", amz_date);
  r->headers.emplace_back("x-amz-content-sha256", r->payload_hash);
  std::vector<std::string> names;
  for (const auto& h : r->headers) names.push_back(ToLower(h.first));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signature =
      Sign(signing_key, StringToSign(amz_date, scope, CanonicalRequest(*r, names)));
  std::string signed_list;
  for (const auto& n : names) signed_list += (signed_list.empty() ? "" : ";") + n;
  r->headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" +
                                               std::string(access_key) + "/" + scope.ToString() +
                                               ", SignedHeaders=" + signed_list +
                                               ", Signature=" + signature);
}

}  // namespace skyway::sigv4
