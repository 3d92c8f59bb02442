// The aws-chunked content encoding: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (each chunk signed,
// chained from the request's signature), STREAMING-UNSIGNED-PAYLOAD-TRAILER, and
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (signed chunks, then signed trailers).
#include <cstring>

#include "s3/internal.h"
#include "sigv4/sigv4.h"

namespace skyway::s3 {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxTrailers = 16;

Status Framing(std::string msg) { return S3Error("IncompleteBody", "aws-chunked: " + std::move(msg)); }

}  // namespace

AwsChunkedReader::AwsChunkedReader(http::BodyReader* raw, std::optional<ChunkSigner> signer,
                                   bool trailers)
    : raw_(raw), signer_(std::move(signer)), expect_trailers_(trailers) {}

Status AwsChunkedReader::Fill() {
  if (pos_ < buf_.size()) return Status::Ok();
  buf_.resize(64 * 1024);
  pos_ = 0;
  auto n = raw_->Read(buf_.data(), buf_.size());
  if (!n.ok()) return S3Error("IncompleteBody", n.status().message());
  buf_.resize(*n);
  if (*n == 0) return Framing("the body ended inside the chunk framing");
  return Status::Ok();
}

Result<std::string> AwsChunkedReader::ReadLine() {
  std::string line;
  for (;;) {
    RETURN_IF_ERROR(Fill());
    char c = buf_[pos_++];
    if (c == '\n') break;
    line.push_back(c);
    if (line.size() > kMaxLine) return Framing("line too long");
  }
  if (line.empty() || line.back() != '\r') return Framing("line not ended by CRLF");
  line.pop_back();
  return line;
}

Status AwsChunkedReader::CheckChunkSignature(std::string_view given, const std::string& data_hash) {
  if (!signer_) return Status::Ok();
  std::string to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n" + signer_->amz_date + "\n" + signer_->scope +
                        "\n" + signer_->previous + "\n" + sigv4::kEmptySha256 + "\n" + data_hash;
  std::string expected = sigv4::Sign(signer_->signing_key, to_sign);
  if (!sigv4::ConstantTimeEquals(expected, given)) {
    return S3Error("SignatureDoesNotMatch", "a chunk signature does not match");
  }
  signer_->previous = expected;
  return Status::Ok();
}

Status AwsChunkedReader::ReadChunkHeader() {
  ASSIGN_OR_RETURN(std::string line, ReadLine());
  size_t semi = line.find(';');
  std::string_view hex = std::string_view(line).substr(0, semi);
  auto size_raw = hex.size() > 0 && hex.size() <= 15 ? HexDecode(std::string(16 - hex.size(), '0') + std::string(hex)) : std::nullopt;
  if (!size_raw) return Framing("malformed chunk size");
  uint64_t size = 0;
  for (unsigned char c : *size_raw) size = size << 8 | c;
  chunk_signature_.clear();
  if (semi != std::string::npos) {
    std::string_view ext = std::string_view(line).substr(semi + 1);
    if (!StartsWith(ext, "chunk-signature=")) return Framing("unknown chunk extension");
    chunk_signature_ = std::string(ext.substr(16));
  }
  if (signer_ && chunk_signature_.size() != 64) return Framing("a signed chunk needs a chunk-signature");
  left_ = size;
  chunk_hash_ = std::make_unique<Sha256>();
  if (size > 0) {
    state_ = State::kData;
    return Status::Ok();
  }
  RETURN_IF_ERROR(CheckChunkSignature(chunk_signature_, sigv4::kEmptySha256));
  if (expect_trailers_) return ReadTrailers();
  ASSIGN_OR_RETURN(std::string end, ReadLine());
  if (!end.empty()) return Framing("data after the final chunk");
  state_ = State::kDone;
  return Status::Ok();
}

Status AwsChunkedReader::ReadTrailers() {
  std::string canonical, signature;
  for (size_t i = 0;; i++) {
    if (i > kMaxTrailers) return Framing("too many trailers");
    ASSIGN_OR_RETURN(std::string line, ReadLine());
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) return Framing("malformed trailer");
    std::string name = ToLower(Trim(std::string_view(line).substr(0, colon)));
    std::string value(Trim(std::string_view(line).substr(colon + 1)));
    if (name == "x-amz-trailer-signature") {
      signature = value;
      continue;
    }
    canonical += name + ":" + value + "\n";
    trailers_.emplace_back(std::move(name), std::move(value));
  }
  if (signer_) {
    std::string to_sign = "AWS4-HMAC-SHA256-TRAILER\n" + signer_->amz_date + "\n" + signer_->scope +
                          "\n" + signer_->previous + "\n" + Sha256Hex(canonical);
    if (!sigv4::ConstantTimeEquals(sigv4::Sign(signer_->signing_key, to_sign), signature)) {
      return S3Error("SignatureDoesNotMatch", "the trailer signature does not match");
    }
  }
  state_ = State::kDone;
  return Status::Ok();
}

Result<size_t> AwsChunkedReader::Read(char* out, size_t n) {
  for (;;) {
    switch (state_) {
      case State::kDone:
        return size_t{0};
      case State::kHeader:
        RETURN_IF_ERROR(ReadChunkHeader());
        continue;
      case State::kData: {
        RETURN_IF_ERROR(Fill());
        size_t take = static_cast<size_t>(std::min<uint64_t>({n, left_, buf_.size() - pos_}));
        std::memcpy(out, buf_.data() + pos_, take);
        pos_ += take;
        left_ -= take;
        decoded_ += take;
        if (signer_) chunk_hash_->Update(out, take);
        if (left_ == 0) state_ = State::kDataEnd;
        return take;
      }
      case State::kDataEnd: {
        ASSIGN_OR_RETURN(std::string end, ReadLine());
        if (!end.empty()) return Framing("chunk data longer than its size");
        RETURN_IF_ERROR(CheckChunkSignature(chunk_signature_, signer_ ? chunk_hash_->FinalHex() : ""));
        state_ = State::kHeader;
        continue;
      }
    }
  }
}

}  // namespace skyway::s3
