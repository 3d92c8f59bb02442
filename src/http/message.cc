// Request parsing, header lists and body framing. Everything here works on bytes only, so the
// unit tests and the fuzzer drive it without sockets.
#include <algorithm>
#include <cstring>

#include "http/http.h"

namespace skyway::http {

void Headers::Add(std::string name, std::string value) {
  list_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  list_.erase(std::remove_if(list_.begin(), list_.end(),
                             [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }),
              list_.end());
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& h : list_) {
    if (EqualsIgnoreCase(h.first, name)) return std::string_view(h.second);
  }
  return std::nullopt;
}

size_t Headers::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(
      list_.begin(), list_.end(), [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }));
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& q : query) {
    if (q.first == name) return std::string_view(q.second);
  }
  return std::nullopt;
}

Result<std::string> Request::ReadBody(size_t max) {
  std::string out;
  if (body == nullptr) return out;
  auto declared = body->declared_length();
  // One allocation, read in place. (A body over max is read up to max first, as below, so the
  // client is not cut off mid-send before it can read the error.)
  if (declared && *declared <= max) {
    out.reserve(*declared + 64);  // spare capacity: JSON parsers may read a little past the end
    out.resize(*declared);
    size_t got = 0;
    while (got < out.size()) {
      ASSIGN_OR_RETURN(size_t n, body->Read(out.data() + got, out.size() - got));
      if (n == 0) break;
      got += n;
    }
    out.resize(got);
    return out;
  }
  char buf[64 * 1024];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, body->Read(buf, sizeof(buf)));
    if (n == 0) break;
    if (out.size() + n > max) {
      return Status(Code::kResourceExhausted, "", "request body is larger than allowed");
    }
    out.append(buf, n);
  }
  return out;
}

namespace {

Status BadRequest(std::string msg) {
  return Status(Code::kInvalidArgument, "BadRequest", std::move(msg));
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

Status ParseRequestLine(std::string_view line, Request* r) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return BadRequest("malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return BadRequest("malformed method");
  }
  if (version == "HTTP/1.1") {
    r->version_minor = 1;
  } else if (version == "HTTP/1.0") {
    r->version_minor = 0;
  } else {
    return BadRequest("unsupported HTTP version");
  }
  if (target.empty() || target[0] != '/') return BadRequest("request target must be a path");
  for (unsigned char c : target) {
    if (c <= 0x20 || c == 0x7f) return BadRequest("invalid character in request target");
  }
  r->method = std::string(method);
  r->target = std::string(target);
  size_t q = target.find('?');
  r->raw_path = std::string(target.substr(0, q));
  r->raw_query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  auto path = UrlDecode(r->raw_path);
  if (!path) return BadRequest("malformed percent-encoding in path");
  r->path = std::move(*path);
  return Status::Ok();
}

Status ParseQuery(std::string_view raw, Request* r) {
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    std::replace(name.begin(), name.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    auto dn = UrlDecode(name);
    auto dv = UrlDecode(value);
    if (!dn || !dv) return BadRequest("malformed percent-encoding in query");
    r->query.emplace_back(std::move(*dn), std::move(*dv));
  }
  return Status::Ok();
}

Status ParseHeaderLine(std::string_view line, Request* r) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return BadRequest("malformed header line");
  std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return BadRequest("malformed header name");
  std::string_view value = Trim(line.substr(colon + 1));
  for (unsigned char c : value) {
    if (!IsFieldValueChar(c)) return BadRequest("invalid character in header value");
  }
  r->headers.Add(std::string(name), std::string(value));
  return Status::Ok();
}

// Framing rules of RFC 9112 section 6: refuse anything a proxy could read differently.
Status CheckFraming(const Request& r) {
  size_t cl = r.headers.Count("content-length");
  auto te = r.headers.Get("transfer-encoding");
  if (te && cl > 0) return BadRequest("both Content-Length and Transfer-Encoding");
  if (te && (r.headers.Count("transfer-encoding") > 1 || !EqualsIgnoreCase(*te, "chunked"))) {
    return Status(Code::kInvalidArgument, "NotImplemented",
                  "only the chunked transfer coding is supported");
  }
  if (cl > 1) return BadRequest("several Content-Length headers");
  if (cl == 1 && !ParseUint64(*r.headers.Get("content-length"))) {
    return BadRequest("malformed Content-Length");
  }
  return Status::Ok();
}

}  // namespace

Status ParseRequestHead(std::string_view head, const Limits& limits, Request* r) {
  size_t eol = head.find("\r\n");
  RETURN_IF_ERROR(ParseRequestLine(head.substr(0, eol), r));
  RETURN_IF_ERROR(ParseQuery(r->raw_query, r));
  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    if (line.empty()) return BadRequest("empty header line");
    if (line[0] == ' ' || line[0] == '\t') return BadRequest("obsolete header line folding");
    RETURN_IF_ERROR(ParseHeaderLine(line, r));
    if (r->headers.all().size() > limits.max_headers) {
      return Status(Code::kInvalidArgument, "RequestHeaderSectionTooLarge", "too many headers");
    }
  }
  if (r->version_minor == 1 && !r->headers.Get("host")) return BadRequest("missing Host header");
  return CheckFraming(*r);
}

// ---- bodies ---------------------------------------------------------------------------------

namespace {

class LengthBody : public BodyReader {
 public:
  LengthBody(ByteSource* source, uint64_t length) : source_(source), length_(length) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (read_ == length_) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(n, length_ - read_));
    ASSIGN_OR_RETURN(size_t got, source_->ReadSome(buf, n));
    if (got == 0) return Status::Aborted("connection closed before the end of the body");
    read_ += got;
    return got;
  }
  bool finished() const override { return read_ == length_; }
  std::optional<uint64_t> declared_length() const override { return length_; }

 private:
  ByteSource* source_;
  uint64_t length_;
  uint64_t read_ = 0;
};

class ChunkedBody : public BodyReader {
 public:
  explicit ChunkedBody(ByteSource* source) : source_(source) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (done_) return size_t{0};
    if (left_in_chunk_ == 0) {
      if (started_) RETURN_IF_ERROR(ExpectCrlf());
      started_ = true;
      ASSIGN_OR_RETURN(left_in_chunk_, ReadChunkSize());
      if (left_in_chunk_ == 0) {
        RETURN_IF_ERROR(SkipTrailers());
        done_ = true;
        return size_t{0};
      }
    }
    n = static_cast<size_t>(std::min<uint64_t>(n, left_in_chunk_));
    ASSIGN_OR_RETURN(size_t got, source_->ReadSome(buf, n));
    if (got == 0) return Status::Aborted("connection closed inside a chunk");
    left_in_chunk_ -= got;
    return got;
  }
  bool finished() const override { return done_; }
  std::optional<uint64_t> declared_length() const override { return std::nullopt; }

 private:
  Result<std::string> ReadLine() {
    std::string line;
    char c;
    for (;;) {
      ASSIGN_OR_RETURN(size_t got, source_->ReadSome(&c, 1));
      if (got == 0) return Status::Aborted("connection closed inside chunk framing");
      if (c == '\n') break;
      line.push_back(c);
      if (line.size() > 4096) return BadRequest("chunk framing line too long");
    }
    if (line.empty() || line.back() != '\r') return BadRequest("chunk line not ended by CRLF");
    line.pop_back();
    return line;
  }
  Status ExpectCrlf() {
    ASSIGN_OR_RETURN(std::string line, ReadLine());
    return line.empty() ? Status::Ok() : BadRequest("chunk data longer than its size");
  }
  Result<uint64_t> ReadChunkSize() {
    ASSIGN_OR_RETURN(std::string line, ReadLine());
    std::string_view hex = Trim(std::string_view(line).substr(0, line.find(';')));
    if (hex.empty() || hex.size() > 15) return BadRequest("malformed chunk size");
    uint64_t v = 0;
    for (char c : hex) {
      const char* digits = "0123456789abcdef";
      const char* at = std::isxdigit(static_cast<unsigned char>(c))
                           ? std::strchr(digits, std::tolower(static_cast<unsigned char>(c)))
                           : nullptr;
      if (at == nullptr) return BadRequest("malformed chunk size");
      int d = static_cast<int>(at - digits);
      v = v * 16 + static_cast<uint64_t>(d);
    }
    return v;
  }
  Status SkipTrailers() {
    for (int i = 0; i < 64; i++) {
      ASSIGN_OR_RETURN(std::string line, ReadLine());
      if (line.empty()) return Status::Ok();
    }
    return BadRequest("too many trailer lines");
  }

  ByteSource* source_;
  uint64_t left_in_chunk_ = 0;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<BodyReader> MakeLengthBody(ByteSource* source, uint64_t length) {
  return std::make_unique<LengthBody>(source, length);
}

std::unique_ptr<BodyReader> MakeChunkedBody(ByteSource* source) {
  return std::make_unique<ChunkedBody>(source);
}

// ---- responses ------------------------------------------------------------------------------

void Response::SetBody(std::string data) {
  body.clear();
  BodyPiece piece;
  piece.length = data.size();
  piece.data = std::move(data);
  body.push_back(std::move(piece));
}

void Response::AddFile(std::shared_ptr<UniqueFd> file, uint64_t offset, uint64_t length) {
  BodyPiece piece;
  piece.file = std::move(file);
  piece.offset = offset;
  piece.length = length;
  body.push_back(std::move(piece));
}

uint64_t Response::BodyLength() const {
  uint64_t n = 0;
  for (const auto& p : body) n += p.length;
  return n;
}

const char* StatusText(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace skyway::http
