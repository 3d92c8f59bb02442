#include "directpath/directpath.h"

namespace skyway::directpath {
namespace {

Status Invalid(std::string msg) { return Status(Code::kInvalidArgument, kInvalidToken, std::move(msg)); }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

}  // namespace

std::string ShmToken::Encode() const {
  return "1.shm." + std::to_string(region) + "." + std::to_string(offset) + "." +
         std::to_string(length) + "." + HexEncode(key);
}

Result<ShmToken> ParseToken(std::string_view token) {
  if (token.size() > 512) return Invalid("the token is too long");
  // cuObject's verbs token: seven colon-separated lowercase hex fields. Served once RDMA NICs
  // are at hand; this server has no verbs transport.
  auto colon_fields = Split(token, ':');
  if (colon_fields.size() == 7) {
    bool all_hex = true;
    for (auto f : colon_fields) all_hex &= IsLowerHex(f);
    if (all_hex) return Status(Code::kUnimplemented, kDeclined, "this server has no RDMA (verbs) transport");
  }
  auto f = Split(token, '.');
  if (f.size() < 2 || f[0] != "1") return Invalid("the token must start with version 1");
  if (f[1] != "shm") {
    return Status(Code::kUnimplemented, kDeclined, "this server has no '" + std::string(f[1]) + "' transport");
  }
  if (f.size() != 6) return Invalid("an shm token is 1.shm.<region>.<offset>.<length>.<key>");
  auto region = ParseUint64(f[2]), offset = ParseUint64(f[3]), length = ParseUint64(f[4]);
  auto key = IsLowerHex(f[5]) ? HexDecode(f[5]) : std::nullopt;
  if (!region || !offset || !length || !key || key->size() != 16) {
    return Invalid("malformed shm token fields");
  }
  if (*offset + *length < *offset) return Invalid("the token's range overflows");
  return ShmToken{*region, *offset, *length, *key};
}

}  // namespace skyway::directpath
