// common: errors as values, logging, hashing and the small text helpers every module shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace skyway {

// ---- Status / Result ------------------------------------------------------------------------

enum class Code {
  kOk,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,  // state does not allow the operation (e.g. bucket not empty)
  kOutOfRange,
  kResourceExhausted,   // a limit was hit
  kPermissionDenied,
  kUnauthenticated,
  kUnimplemented,
  kAborted,             // the peer went away or the operation was cancelled
  kIOError,
  kInternal,
};

// A Status is ok or carries a code, an optional stable reason (a short identifier such as
// "NoSuchBucket" that a protocol layer maps to its own error) and a human message.
class Status {
 public:
  Status() = default;
  Status(Code code, std::string reason, std::string message)
      : rep_(std::make_shared<Rep>(Rep{code, std::move(reason), std::move(message)})) {}
  static Status Ok() { return Status(); }
  static Status Invalid(std::string msg) { return Status(Code::kInvalidArgument, "", std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, "", std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, "", std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, "", std::move(msg)); }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, "", std::move(msg)); }
  // An error from a failed system call: "<what>: <strerror(err)>".
  static Status FromErrno(std::string_view what, int err);

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& reason() const;
  const std::string& message() const;
  std::string ToString() const;

 private:
  struct Rep {
    Code code;
    std::string reason;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}   // NOLINT: REQUIRES !status.ok()
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

#define SKYWAY_CONCAT_INNER(a, b) a##b
#define SKYWAY_CONCAT(a, b) SKYWAY_CONCAT_INNER(a, b)
#define RETURN_IF_ERROR(expr)              \
  do {                                     \
    ::skyway::Status _st = (expr);         \
    if (!_st.ok()) return _st;             \
  } while (0)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SKYWAY_CONCAT(_res_, __LINE__), lhs, expr)

// ---- Logging --------------------------------------------------------------------------------

enum class LogLevel { kDebug, kInfo, kWarn, kError };
void SetLogLevel(LogLevel level);
// Writes one line to stderr with a timestamp and level, if level is enabled.
void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

// ---- Hashing --------------------------------------------------------------------------------

// Incremental MD5 (for S3 ETags). Final() may be called once.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void Update(const void* data, size_t n);
  std::string FinalHex();
  std::string FinalRaw();  // 16 raw bytes

 private:
  void* ctx_;
};

// Incremental SHA-256 (payload hashes).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  std::string FinalHex();

 private:
  void* ctx_;
};

// The S3 additional checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256. The value is the
// big-endian digest in base64, as in the x-amz-checksum-* headers.
class Checksum {
 public:
  virtual ~Checksum() = default;
  virtual void Update(const void* data, size_t n) = 0;
  virtual std::string FinalBase64() = 0;
  // algorithm: "crc32", "crc32c", "crc64nvme", "sha1" or "sha256" (any case); null otherwise.
  static std::unique_ptr<Checksum> Make(std::string_view algorithm);
};

std::string Sha256Hex(std::string_view data);
std::string Md5Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of data under key.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view raw);
// "512 B", "1.5 KB", "40.0 MB", "2.1 GB" (decimal units, as MB/s is).
std::string FormatBytes(uint64_t bytes);
// Lower- or upper-case hex to bytes; nullopt for odd length or a non-hex digit.
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view raw);
std::optional<std::string> Base64Decode(std::string_view text);
// Cryptographically random bytes from the OS.
std::string RandomBytes(size_t n);
// splitmix64's output function: a well-mixed 64-bit value of x, for fixed-seed streams (the
// generator's i-th value is SplitMix64(seed + i x 0x9E3779B97F4A7C15)). Not for secrets.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// ---- Files --------------------------------------------------------------------------------

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of data to fd (retrying short writes and EINTR).
Status WriteAll(int fd, const void* data, size_t n);
// Reads exactly n bytes at offset (retrying short reads); kOutOfRange at end of file.
Status PreadAll(int fd, void* data, size_t n, uint64_t offset);
// fsync of a directory, so that a rename or create in it is durable.
Status FsyncDir(const std::string& dir);

// ---- Text and time --------------------------------------------------------------------------

std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
// Parses a decimal uint64 with no sign, no spaces, no overflow.
std::optional<uint64_t> ParseUint64(std::string_view s);
// Percent-decoding; '+' is left as is. Returns nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view s);
// Percent-encodes every byte but the RFC 3986 unreserved ones; '/' too unless keep_slash.
std::string UrlEncode(std::string_view s, bool keep_slash);

// Nanoseconds since the Unix epoch (wall clock).
int64_t NowNanos();
// "Tue, 15 Nov 1994 08:12:31 GMT"
std::string FormatHttpDate(int64_t unix_seconds);
// "2006-02-03T16:45:09.000Z"
std::string FormatIso8601Millis(int64_t unix_nanos);
// "20130524T000000Z" (the SigV4 x-amz-date form)
std::string FormatAmzDate(int64_t unix_seconds);
// Accepts RFC 1123, RFC 850 and asctime forms, and the SigV4 basic form.
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace skyway
