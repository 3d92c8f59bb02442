// CRC32 (zlib), CRC32C (SSE4.2 when the CPU has it, else a table), CRC64/NVME (a table), SHA1
// and SHA256 (OpenSSL).
#include <openssl/evp.h>
#include <zlib.h>

#include <array>
#include <cstring>

#include "common/common.h"

namespace skyway {
namespace {

std::string BigEndianBase64(uint64_t value, int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  for (int i = 0; i < bytes; i++) raw[static_cast<size_t>(i)] = static_cast<char>(value >> (8 * (bytes - 1 - i)));
  return Base64Encode(raw);
}

class Crc32 : public Checksum {
 public:
  void Update(const void* data, size_t n) override {
    const Bytef* p = static_cast<const Bytef*>(data);
    while (n > 0) {
      uInt step = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      crc_ = crc32(crc_, p, step);
      p += step;
      n -= step;
    }
  }
  std::string FinalBase64() override { return BigEndianBase64(crc_, 4); }

 private:
  uLong crc_ = crc32(0, nullptr, 0);
};

template <typename T, T kPoly>
std::array<T, 256> ReflectedTable() {
  std::array<T, 256> table{};
  for (unsigned i = 0; i < 256; i++) {
    T c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    table[i] = c;
  }
  return table;
}

class Crc32c : public Checksum {
 public:
  void Update(const void* data, size_t n) override {
    const unsigned char* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
      crc_ = Hardware(crc_, p, n);
      return;
    }
#endif
    static const auto table = ReflectedTable<uint32_t, 0x82F63B78u>();
    for (size_t i = 0; i < n; i++) crc_ = table[(crc_ ^ p[i]) & 0xff] ^ (crc_ >> 8);
  }
  std::string FinalBase64() override { return BigEndianBase64(crc_ ^ 0xffffffffu, 4); }

 private:
#if defined(__x86_64__)
  __attribute__((target("sse4.2"))) static uint32_t Hardware(uint32_t crc, const unsigned char* p,
                                                             size_t n) {
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      c = __builtin_ia32_crc32di(c, word);
    }
    uint32_t c32 = static_cast<uint32_t>(c);
    for (; n > 0; n--, p++) c32 = __builtin_ia32_crc32qi(c32, *p);
    return c32;
  }
#endif
  uint32_t crc_ = 0xffffffffu;
};

class Crc64Nvme : public Checksum {
 public:
  void Update(const void* data, size_t n) override {
    static const auto table = ReflectedTable<uint64_t, 0x9a6c9329ac4bc9b5ull>();
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i++) crc_ = table[(crc_ ^ p[i]) & 0xff] ^ (crc_ >> 8);
  }
  std::string FinalBase64() override { return BigEndianBase64(crc_ ^ ~0ull, 8); }

 private:
  uint64_t crc_ = ~0ull;
};

class EvpChecksum : public Checksum {
 public:
  explicit EvpChecksum(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, md, nullptr); }
  ~EvpChecksum() override { EVP_MD_CTX_free(ctx_); }
  void Update(const void* data, size_t n) override { EVP_DigestUpdate(ctx_, data, n); }
  std::string FinalBase64() override {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, out, &n);
    return Base64Encode(std::string_view(reinterpret_cast<char*>(out), n));
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::unique_ptr<Checksum> Checksum::Make(std::string_view algorithm) {
  std::string a = ToLower(algorithm);
  if (a == "crc32") return std::make_unique<Crc32>();
  if (a == "crc32c") return std::make_unique<Crc32c>();
  if (a == "crc64nvme") return std::make_unique<Crc64Nvme>();
  if (a == "sha1") return std::make_unique<EvpChecksum>(EVP_sha1());
  if (a == "sha256") return std::make_unique<EvpChecksum>(EVP_sha256());
  return nullptr;
}

}  // namespace skyway
