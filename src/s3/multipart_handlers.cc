// Multipart upload: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
// ListMultipartUploads. The object's ETag is the MD5 of the parts' binary MD5s, then "-N".
#include <algorithm>
#include <cctype>
#include <optional>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;  // every part but the last
constexpr uint64_t kMaxPartSize = 5ull << 30;
constexpr size_t kMaxCompleteXml = 4 << 20;

std::string UploadId(const Context& ctx) { return std::string(ctx.req.Query("uploadId").value_or("")); }

Result<int> PartNumber(const Context& ctx) {
  auto n = ParseUint64(ctx.req.Query("partNumber").value_or(""));
  if (!n || *n < 1 || *n > 10000) {
    return S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  return static_cast<int>(*n);
}

// Reads x-amz-copy-source-range ("bytes=a-b", both inclusive and required).
Result<ByteRange> CopySourceRange(const Context& ctx, uint64_t size) {
  auto header = ctx.req.headers.Get("x-amz-copy-source-range");
  if (!header) return ByteRange{0, size};
  std::string_view spec = Trim(*header);
  size_t dash = spec.find('-');
  if (!StartsWith(spec, "bytes=") || dash == std::string_view::npos) {
    return S3Error("InvalidArgument", "the x-amz-copy-source-range value must be of the form bytes=first-last");
  }
  auto first = ParseUint64(spec.substr(6, dash - 6));
  auto last = ParseUint64(spec.substr(dash + 1));
  if (!first || !last || *last < *first || *last >= size) {
    return S3Error("InvalidRange", "the x-amz-copy-source-range is not satisfiable");
  }
  return ByteRange{*first, *last - *first + 1};
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// S3's checksum of a multipart object: the algorithm over the parts' raw checksums, then
// "-<parts>". Only when every part carries a checksum of one and the same algorithm.
std::optional<std::pair<std::string, std::string>> CompositeChecksum(
    const std::vector<CompletedPart>& named, const std::vector<store::PartInfo>& uploaded) {
  std::string name;
  std::unique_ptr<Checksum> sum;
  for (const auto& n : named) {
    auto it = std::find_if(uploaded.begin(), uploaded.end(),
                           [&](const store::PartInfo& p) { return p.number == n.number; });
    if (it == uploaded.end() || it->attrs.size() != 1) return std::nullopt;
    const auto& [part_name, value] = it->attrs[0];
    if (name.empty()) {
      name = part_name;
      sum = Checksum::Make(name.substr(15));
      if (!sum) return std::nullopt;
    }
    auto raw = Base64Decode(value);
    if (part_name != name || !raw) return std::nullopt;
    sum->Update(raw->data(), raw->size());
  }
  if (!sum) return std::nullopt;
  return std::make_pair(name, sum->FinalBase64() + "-" + std::to_string(named.size()));
}

}  // namespace

Status CreateMultipartUpload(Context& ctx) {
  ASSIGN_OR_RETURN(Attrs attrs, AttrsFromRequest(ctx));
  ASSIGN_OR_RETURN(std::string upload_id, ctx.backend->CreateUpload(ctx.bucket, ctx.key, std::move(attrs)));
  XmlWriter xml("InitiateMultipartUploadResult");
  xml.Element("Bucket", ctx.bucket).Element("Key", ctx.key).Element("UploadId", upload_id);
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status UploadPart(Context& ctx) {
  ASSIGN_OR_RETURN(int number, PartNumber(ctx));
  RETURN_IF_ERROR(CheckPutLength(ctx, kMaxPartSize));
  ASSIGN_OR_RETURN(auto writer, ctx.backend->PutPart(ctx.bucket, ctx.key, UploadId(ctx), number));
  ASSIGN_OR_RETURN(BodyDigest digest, ReceiveBody(ctx, writer.get(), kMaxPartSize, /*part=*/true));
  store::ObjectMeta meta;
  meta.etag = digest.md5;
  for (const auto& c : digest.checksums) ctx.resp.headers.Set(c.first, c.second);
  meta.attrs = std::move(digest.checksums);  // kept with the part for the composite checksum
  ASSIGN_OR_RETURN(meta, writer->Commit(std::move(meta)));
  ctx.resp.headers.Set("ETag", Quoted(meta.etag));
  return Status::Ok();
}

Status UploadPartCopy(Context& ctx) {
  ASSIGN_OR_RETURN(int number, PartNumber(ctx));
  ASSIGN_OR_RETURN(store::ObjectData source, OpenCopySource(ctx));
  ASSIGN_OR_RETURN(ByteRange range, CopySourceRange(ctx, source.meta.size));
  if (range.length > kMaxPartSize) return S3Error("EntityTooLarge");
  ASSIGN_OR_RETURN(auto writer, ctx.backend->PutPart(ctx.bucket, ctx.key, UploadId(ctx), number));
  store::ObjectMeta meta;
  ASSIGN_OR_RETURN(meta.etag, CopyBytes(source, range, writer.get()));
  ASSIGN_OR_RETURN(meta, writer->Commit(std::move(meta)));
  XmlWriter xml("CopyPartResult");
  xml.Element("LastModified", FormatIso8601Millis(meta.mtime_nanos)).Element("ETag", Quoted(meta.etag));
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status CompleteMultipartUpload(Context& ctx) {
  std::string upload_id = UploadId(ctx);
  RETURN_IF_ERROR(ctx.backend->GetUpload(ctx.bucket, ctx.key, upload_id).status());
  ASSIGN_OR_RETURN(std::string body, ReadSmallBody(ctx, kMaxCompleteXml));
  ASSIGN_OR_RETURN(std::vector<CompletedPart> named, ParseCompleteMultipartUpload(body));
  ASSIGN_OR_RETURN(std::vector<store::PartInfo> uploaded,
                   ctx.backend->ListParts(ctx.bucket, ctx.key, upload_id));
  std::vector<int> numbers;
  std::string md5s;
  for (size_t i = 1; i < named.size(); i++) {
    if (named[i].number <= named[i - 1].number) return S3Error("InvalidPartOrder");
  }
  for (size_t i = 0; i < named.size(); i++) {
    auto it = std::find_if(uploaded.begin(), uploaded.end(),
                           [&](const store::PartInfo& p) { return p.number == named[i].number; });
    if (it == uploaded.end() || it->etag != named[i].etag) return S3Error("InvalidPart");
    if (i + 1 < named.size() && it->size < kMinPartSize) {
      return S3Error("EntityTooSmall", "part " + std::to_string(it->number) +
                                           " is smaller than the minimum of 5 MiB");
    }
    numbers.push_back(named[i].number);
    auto raw = HexDecode(it->etag);
    if (!raw) return S3Error("InvalidPart");
    md5s += *raw;
  }
  store::ObjectMeta meta;
  meta.etag = Md5Hex(md5s) + "-" + std::to_string(numbers.size());
  auto composite = CompositeChecksum(named, uploaded);
  if (composite) meta.attrs.push_back(*composite);
  ASSIGN_OR_RETURN(meta, ctx.backend->CompleteUpload(ctx.bucket, ctx.key, upload_id, numbers, meta));
  XmlWriter xml("CompleteMultipartUploadResult");
  xml.Element("Location", "/" + ctx.bucket + "/" + ctx.key)
      .Element("Bucket", ctx.bucket)
      .Element("Key", ctx.key)
      .Element("ETag", Quoted(meta.etag));
  if (composite) xml.Element("Checksum" + ToUpper(composite->first.substr(15)), composite->second);
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status AbortMultipartUpload(Context& ctx) {
  RETURN_IF_ERROR(ctx.backend->AbortUpload(ctx.bucket, ctx.key, UploadId(ctx)));
  ctx.resp.status = 204;
  return Status::Ok();
}

Status ListParts(Context& ctx) {
  std::string upload_id = UploadId(ctx);
  ASSIGN_OR_RETURN(auto parts, ctx.backend->ListParts(ctx.bucket, ctx.key, upload_id));
  uint64_t max_parts = ParseUint64(ctx.req.Query("max-parts").value_or("1000")).value_or(1000);
  max_parts = std::min<uint64_t>(max_parts, 1000);
  uint64_t marker = ParseUint64(ctx.req.Query("part-number-marker").value_or("0")).value_or(0);
  XmlWriter xml("ListPartsResult");
  xml.Element("Bucket", ctx.bucket).Element("Key", ctx.key).Element("UploadId", upload_id);
  xml.Open("Initiator").Element("ID", OwnerId(ctx)).Element("DisplayName", "skyway").Close("Initiator");
  xml.Open("Owner").Element("ID", OwnerId(ctx)).Element("DisplayName", "skyway").Close("Owner");
  xml.Element("StorageClass", "STANDARD").Element("PartNumberMarker", std::to_string(marker));
  uint64_t listed = 0, last = 0;
  bool truncated = false;
  for (const auto& p : parts) {
    if (static_cast<uint64_t>(p.number) <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    listed++;
    last = static_cast<uint64_t>(p.number);
    xml.Open("Part")
        .Element("PartNumber", std::to_string(p.number))
        .Element("LastModified", FormatIso8601Millis(p.mtime_nanos))
        .Element("ETag", Quoted(p.etag))
        .Element("Size", std::to_string(p.size))
        .Close("Part");
  }
  xml.Element("NextPartNumberMarker", std::to_string(last))
      .Element("MaxParts", std::to_string(max_parts))
      .Element("IsTruncated", truncated ? "true" : "false");
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

Status ListMultipartUploads(Context& ctx) {
  if (ctx.req.Query("delimiter")) {
    return S3Error("NotImplemented", "ListMultipartUploads with a delimiter is not supported");
  }
  store::UploadListOptions opts;
  opts.prefix = std::string(ctx.req.Query("prefix").value_or(""));
  opts.key_marker = std::string(ctx.req.Query("key-marker").value_or(""));
  opts.upload_id_marker = std::string(ctx.req.Query("upload-id-marker").value_or(""));
  uint64_t max = std::min<uint64_t>(
      ParseUint64(ctx.req.Query("max-uploads").value_or("1000")).value_or(1000), 1000);
  opts.max_uploads = static_cast<size_t>(max) + 1;
  ASSIGN_OR_RETURN(auto uploads, ctx.backend->ListUploads(ctx.bucket, opts));
  bool truncated = uploads.size() > max;
  if (truncated) uploads.resize(max);
  XmlWriter xml("ListMultipartUploadsResult");
  xml.Element("Bucket", ctx.bucket)
      .Element("KeyMarker", opts.key_marker)
      .Element("UploadIdMarker", opts.upload_id_marker)
      .Element("NextKeyMarker", uploads.empty() ? "" : uploads.back().key)
      .Element("NextUploadIdMarker", uploads.empty() ? "" : uploads.back().upload_id)
      .Element("Prefix", opts.prefix)
      .Element("MaxUploads", std::to_string(max))
      .Element("IsTruncated", truncated ? "true" : "false");
  for (const auto& u : uploads) {
    xml.Open("Upload").Element("Key", u.key).Element("UploadId", u.upload_id);
    xml.Open("Initiator").Element("ID", OwnerId(ctx)).Element("DisplayName", "skyway").Close("Initiator");
    xml.Open("Owner").Element("ID", OwnerId(ctx)).Element("DisplayName", "skyway").Close("Owner");
    xml.Element("StorageClass", "STANDARD")
        .Element("Initiated", FormatIso8601Millis(u.initiated_nanos))
        .Close("Upload");
  }
  SetXmlBody(ctx, xml.Finish());
  return Status::Ok();
}

}  // namespace skyway::s3
