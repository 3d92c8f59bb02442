// Private to s3/: the request context, error table, authentication and XML helpers shared by
// the operation handlers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <memory>

#include "directpath/directpath.h"
#include "s3/s3.h"

namespace skyway::s3 {

// ---- errors (errors.cc is the one place an S3 error code meets its status and message) ------

// A Status whose reason is the S3 error code; message empty means the table's message.
Status S3Error(std::string_view code, std::string message = "");
// The HTTP status of an S3 error code (500 for codes not in the table).
int HttpStatusOf(std::string_view code);
// The S3 code for any status: its reason if it names a table entry, else one by Code.
std::string S3CodeOf(const Status& status);

// ---- per-request context --------------------------------------------------------------------

using Attrs = std::vector<std::pair<std::string, std::string>>;

// What a signed aws-chunked body needs to check each chunk: the request's derived key, date,
// scope, and the signature the next chunk chains from (first the request's own).
struct ChunkSigner {
  std::string signing_key;
  std::string amz_date;
  std::string scope;
  std::string previous;
};

struct Context {
  Context(http::Request& request, http::Response& response, const Config& cfg,
          store::Backend* store, std::string id)
      : req(request), resp(response), config(cfg), backend(store), request_id(std::move(id)) {}
  http::Request& req;
  http::Response& resp;
  const Config& config;
  store::Backend* backend;
  std::string request_id;
  std::string bucket;        // empty for service-level requests
  std::string key;           // empty for bucket-level requests
  std::string payload_hash;  // x-amz-content-sha256 as authenticated
  std::optional<ChunkSigner> chunk_signer;  // for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
  std::string operation = "Unknown";         // set by the router: "GetObject", ...
  std::string rdma_reply;                    // x-amz-rdma-reply to send, success or error
};

// ---- aws-chunked bodies (aws_chunked.cc) -----------------------------------------------------

// Decodes an aws-chunked body from the raw request body, checking chunk signatures when a
// signer is given and reading trailers (x-amz-checksum-*) after the last chunk when asked.
// Errors: SignatureDoesNotMatch, IncompleteBody (framing).
class AwsChunkedReader : public http::BodyReader {
 public:
  AwsChunkedReader(http::BodyReader* raw, std::optional<ChunkSigner> signer, bool trailers);
  Result<size_t> Read(char* out, size_t n) override;
  bool finished() const override { return state_ == State::kDone; }
  std::optional<uint64_t> declared_length() const override { return std::nullopt; }
  uint64_t decoded_bytes() const { return decoded_; }
  const Attrs& trailers() const { return trailers_; }

 private:
  enum class State { kHeader, kData, kDataEnd, kDone };
  Status Fill();
  Result<std::string> ReadLine();
  Status ReadChunkHeader();
  Status ReadTrailers();
  Status CheckChunkSignature(std::string_view given, const std::string& data_hash);

  http::BodyReader* raw_;
  std::optional<ChunkSigner> signer_;
  bool expect_trailers_;
  State state_ = State::kHeader;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t left_ = 0;
  uint64_t decoded_ = 0;
  std::string chunk_signature_;
  std::unique_ptr<Sha256> chunk_hash_;
  Attrs trailers_;
};

// Writes the S3 XML error reply for status into ctx.resp.
void WriteError(Context& ctx, const Status& status);

// ---- authentication (auth.cc) ---------------------------------------------------------------

// Verifies the request's SigV4 signature (Authorization header). On success sets
// ctx.payload_hash. Errors: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
// AuthorizationHeaderMalformed, RequestTimeTooSkewed, InvalidRequest, NotImplemented.
Status Authenticate(Context& ctx);

// Reads the whole request body (for small XML bodies), checking it against the signed payload
// hash. Errors: XAmzContentSHA256Mismatch, IncompleteBody, MalformedXML (too large).
Result<std::string> ReadSmallBody(Context& ctx, size_t max_bytes);

// ---- XML (xml.cc) ---------------------------------------------------------------------------

// Builds an XML document element by element, escaping text.
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root, bool with_namespace = true);
  XmlWriter& Open(std::string_view name);
  XmlWriter& Close(std::string_view name);
  XmlWriter& Element(std::string_view name, std::string_view text);
  std::string Finish();

 private:
  std::string out_;
  std::string root_;
};

std::string XmlEscape(std::string_view text);

// Parses an optional CreateBucketConfiguration body; returns its LocationConstraint ("" if
// none). Errors: MalformedXML.
Result<std::string> ParseCreateBucketConfiguration(std::string_view body);

// ---- object helpers (object_common.cc) ------------------------------------------------------

// The attr under which an object's tags are kept, as a URL query string ("k1=v1&k2=v2").
inline constexpr char kTaggingAttr[] = "x-amz-tagging";

// The attrs a new object takes from its request: content headers, x-amz-meta-* (size-checked:
// MetadataTooLarge) and x-amz-tagging (InvalidTag).
Result<Attrs> AttrsFromRequest(const Context& ctx);
std::optional<std::string_view> FindAttr(const Attrs& attrs, std::string_view name);
// Errors: MissingContentLength, EntityTooLarge (over max), NotImplemented (Transfer-Encoding).
Status CheckPutLength(const Context& ctx, uint64_t max);
// What StreamBody learned of the bytes: their MD5 (hex) and the x-amz-checksum-* attrs that
// were sent (as headers or trailers) and verified.
struct BodyDigest {
  std::string md5;
  Attrs checksums;
};
// Hashes the bytes of an upload as they pass: MD5 (the ETag), the signed payload SHA-256 and
// the x-amz-checksum-* the request names; Finish() checks them against what was sent.
class BodyDigester {
 public:
  explicit BodyDigester(const Context& ctx);
  ~BodyDigester();
  Status Init();  // Errors: InvalidRequest (an unsupported trailer checksum)
  void Update(const char* data, size_t n);
  uint64_t total() const { return total_; }
  // Errors: XAmzContentSHA256Mismatch, InvalidDigest, BadDigest.
  Result<BodyDigest> Finish(const Attrs& trailers);

 private:
  const Context& ctx_;
  bool verify_sha256_;
  Md5 md5_;
  Sha256 sha_;
  std::vector<std::pair<std::string, std::unique_ptr<Checksum>>> checksums_;
  uint64_t total_ = 0;
};

// Streams the request body (plain or aws-chunked) into writer. Verifies the signed payload
// hash (XAmzContentSHA256Mismatch), Content-MD5 (InvalidDigest, BadDigest), x-amz-checksum-*
// (BadDigest) and the decoded length (IncompleteBody).
Result<BodyDigest> StreamBody(Context& ctx, store::ObjectWriter* writer);

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
// Copies range of an open object into writer; returns the MD5 (hex) of the bytes copied.
Result<std::string> CopyBytes(const store::ObjectData& source, ByteRange range,
                              store::ObjectWriter* writer);
std::string StripQuotes(std::string_view etag);
// An ETag as S3 sends it, in double quotes.
inline std::string Quoted(const std::string& etag) { return "\"" + etag + "\""; }
// Evaluates <prefix>if-match, -none-match, -modified-since, -unmodified-since. Errors:
// PreconditionFailed, NotModified.
Status CheckConditions(const Context& ctx, const store::ObjectMeta& meta, std::string_view prefix);
// A single "bytes=a-b", "bytes=a-" or "bytes=-n". nullopt for a header to ignore (malformed or
// several ranges: S3 then returns the whole object). InvalidRange when it cannot be satisfied.
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size);

// Tags: "k1=v1&k2=v2" (x-amz-tagging header, kTaggingAttr) and the Tagging XML document.
// Errors: InvalidTag (more than 10, key over 128 or value over 256 bytes, a key twice).
Result<Attrs> ParseTagQuery(std::string_view query);
std::string EncodeTagQuery(const Attrs& tags);
Result<Attrs> ParseTaggingXml(std::string_view body);

// ---- XML request bodies (xml.cc). Errors: MalformedXML.

struct CompletedPart {
  int number = 0;
  std::string etag;
};
Result<std::vector<CompletedPart>> ParseCompleteMultipartUpload(std::string_view body);
struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;
};
Result<DeleteRequest> ParseDeleteObjects(std::string_view body);

// ---- the direct data path (direct_handlers.cc) ----------------------------------------------

// Resolves x-amz-rdma-token (nullopt when the request has none). Errors: NotImplemented with
// x-amz-rdma-reply 501 (a transport this server lacks: the client falls back to HTTP),
// InvalidArgument (malformed token, unknown region, range outside it), AccessDenied (key),
// OperationAborted (range in use).
Result<std::optional<directpath::Target>> ResolveRdmaToken(Context& ctx);
// Reads range of the object straight into the target; the reply carries headers only.
// Errors: InvalidArgument (the range is larger than the token's length).
Status DirectGet(Context& ctx, const store::ObjectData& data, ByteRange range,
                 const directpath::Target& target);
// The body of a PutObject or UploadPart: from the token's memory when the request has one,
// else from the HTTP body. Errors: those of StreamBody, ResolveRdmaToken, EntityTooLarge.
Result<BodyDigest> ReceiveBody(Context& ctx, store::ObjectWriter* writer, uint64_t max_size,
                               bool part);

// ---- operations ---------------------------------------------------------------------------

Status ListBuckets(Context& ctx);
Status CreateBucket(Context& ctx);
Status HeadBucket(Context& ctx);
Status DeleteBucket(Context& ctx);
Status GetBucketLocation(Context& ctx);
Status GetBucketVersioning(Context& ctx);
Status ListObjectsV1(Context& ctx);
Status ListObjectsV2(Context& ctx);
Status PutObject(Context& ctx);
Status CopyObject(Context& ctx);
Status GetObject(Context& ctx, bool head);
Status DeleteObject(Context& ctx);
Status DeleteObjects(Context& ctx);
Status GetObjectTagging(Context& ctx);
Status PutObjectTagging(Context& ctx);
Status DeleteObjectTagging(Context& ctx);
Status CreateMultipartUpload(Context& ctx);
Status UploadPart(Context& ctx);
Status UploadPartCopy(Context& ctx);
Status CompleteMultipartUpload(Context& ctx);
Status AbortMultipartUpload(Context& ctx);
Status ListParts(Context& ctx);
Status ListMultipartUploads(Context& ctx);
// Opens the object named by x-amz-copy-source, checking x-amz-copy-source-if-* (412).
Result<store::ObjectData> OpenCopySource(Context& ctx);
// Sets Content-Type and the body of an XML reply.
void SetXmlBody(Context& ctx, std::string xml);
// The owner ID shown in listings (derived from the first access key).
std::string OwnerId(const Context& ctx);

// Rules of bucket naming; returns InvalidBucketName with the broken rule.
Status ValidateBucketName(std::string_view name);

}  // namespace skyway::s3
