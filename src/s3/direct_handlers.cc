// The direct data path on the S3 side: a GET writes the object into the client's registered
// memory, a PUT or UploadPart reads it from there; the HTTP exchange carries headers only.
#include <algorithm>
#include <thread>
#include <vector>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

constexpr uint64_t kSlice = 8 << 20;
constexpr uint64_t kParallelCopyBytes = 32 << 20;

Status FromDirectpath(Context& ctx, const Status& st) {
  const std::string& reason = st.reason();
  if (reason == directpath::kDeclined) {
    ctx.rdma_reply = "501";
    return S3Error("NotImplemented", st.message() + "; retry without x-amz-rdma-token");
  }
  if (reason == directpath::kKeyMismatch) return S3Error("AccessDenied", st.message());
  if (reason == directpath::kRangeBusy) return S3Error("OperationAborted", st.message());
  return S3Error("InvalidArgument", "x-amz-rdma-token: " + st.message());
}

void SetDirectReply(Context& ctx, const std::string& code, uint64_t bytes) {
  ctx.rdma_reply = code;
  ctx.resp.headers.Set("x-amz-rdma-bytes-transferred", std::to_string(bytes));
}

}  // namespace

Result<std::optional<directpath::Target>> ResolveRdmaToken(Context& ctx) {
  auto header = ctx.req.headers.Get("x-amz-rdma-token");
  if (!header) return std::optional<directpath::Target>();
  auto token = directpath::ParseToken(*header);
  if (!token.ok()) return FromDirectpath(ctx, token.status());
  if (ctx.config.regions == nullptr) {
    ctx.rdma_reply = "501";
    return S3Error("NotImplemented", "the direct data path is off on this server; retry without "
                                     "x-amz-rdma-token");
  }
  auto target = ctx.config.regions->Resolve(*token);
  if (!target.ok()) return FromDirectpath(ctx, target.status());
  return std::optional<directpath::Target>(std::move(target).value());
}

namespace {

// Copies [first, first + length) of the object's extents to dst.
Status ReadRange(const store::ObjectData& data, uint64_t first, uint64_t length, char* dst) {
  uint64_t pos = 0, done = 0;
  for (const auto& e : data.extents) {
    uint64_t begin = std::max(first, pos);
    uint64_t end = std::min(first + length, pos + e.length);
    if (begin < end) {
      RETURN_IF_ERROR(PreadAll(e.file->get(), dst + done, end - begin, e.offset + (begin - pos)));
      done += end - begin;
    }
    pos += e.length;
  }
  return Status::Ok();
}

}  // namespace

Status DirectGet(Context& ctx, const store::ObjectData& data, ByteRange range,
                 const directpath::Target& target) {
  if (range.length > target.length()) {
    return S3Error("InvalidArgument", "the object (or range) is " + std::to_string(range.length) +
                                          " bytes; the x-amz-rdma-token names only " +
                                          std::to_string(target.length()));
  }
  if (target.on_device()) {  // page cache -> pinned ring -> the client's GPU memory
    RETURN_IF_ERROR(target.Fill(range.length, [&](char* staging, uint64_t at, uint64_t n) {
      return ReadRange(data, range.first + at, n, staging);
    }));
    ctx.resp.headers.Set("Content-Length", "0");
    SetDirectReply(ctx, ctx.resp.status == 206 ? "206" : "200", range.length);
    return Status::Ok();
  }
  // One copy, page cache to the client's memory. A large range is copied by several threads:
  // a single core's copy bandwidth is the limit otherwise.
  size_t threads = range.length >= kParallelCopyBytes
                       ? std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4)
                       : 1;
  uint64_t piece = (range.length + threads - 1) / threads;
  std::vector<Status> results(threads);
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads; i++) {
    uint64_t off = i * piece, len = std::min(piece, range.length - std::min(range.length, off));
    helpers.emplace_back([&, i, off, len] {
      results[i] = ReadRange(data, range.first + off, len, target.data() + off);
    });
  }
  results[0] = ReadRange(data, range.first, std::min(piece, range.length), target.data());
  for (auto& h : helpers) h.join();
  for (const Status& st : results) RETURN_IF_ERROR(st);
  ctx.resp.headers.Set("Content-Length", "0");
  SetDirectReply(ctx, ctx.resp.status == 206 ? "206" : "200", range.length);
  return Status::Ok();
}

Result<BodyDigest> ReceiveBody(Context& ctx, store::ObjectWriter* writer, uint64_t max_size,
                               bool part) {
  ASSIGN_OR_RETURN(auto target, ResolveRdmaToken(ctx));
  if (!target) return StreamBody(ctx, writer);
  if (ctx.req.body->declared_length().value_or(1) != 0) {
    return S3Error("InvalidRequest", "a request with x-amz-rdma-token carries no body");
  }
  if (target->length() > max_size) return S3Error("EntityTooLarge");
  BodyDigester digester(ctx);
  RETURN_IF_ERROR(digester.Init());
  if (target->on_device()) {  // the client's GPU memory -> pinned ring -> the file
    RETURN_IF_ERROR(target->Drain(target->length(), [&](const char* staging, uint64_t, uint64_t n) {
      digester.Update(staging, n);
      return writer->Write(staging, n);
    }));
  }
  for (uint64_t at = 0; !target->on_device() && at < target->length(); at += kSlice) {
    size_t n = static_cast<size_t>(std::min(kSlice, target->length() - at));
    digester.Update(target->data() + at, n);
    RETURN_IF_ERROR(writer->Write(target->data() + at, n));
  }
  ASSIGN_OR_RETURN(BodyDigest digest, digester.Finish({}));
  SetDirectReply(ctx, part ? "206" : "200", target->length());
  return digest;
}

}  // namespace skyway::s3
