// `skyway mb|rb|ls|cp|rm|stat`: an `aws s3`-style command line on the client library.
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "client/client.h"
#include "common/common.h"

namespace skyway::cli {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr char kScheme[] = "s3://";

// ---- Arguments ------------------------------------------------------------------------------

struct Invocation {
  client::Options options;
  bool recursive = false;
  bool force = false;
  int page_size = 1000;  // keys per list request
  std::vector<std::string> operands;
};

struct CommandSpec {
  const char* name;
  const char* operands;  // for the usage line
  const char* summary;
  size_t min_operands = 1;
  size_t max_operands = 1;
  bool takes_recursive = false;
  bool takes_force = false;
  bool lists = false;  // lists keys: takes --page-size
};

struct S3Path {
  std::string bucket;
  std::string key;  // may be empty (the bucket itself) or a prefix
  std::string ToString() const { return kScheme + bucket + (key.empty() ? "" : "/" + key); }
};

bool IsS3Url(const std::string& text) { return StartsWith(text, kScheme); }

// A mistake in how the command was called (exit 2), as opposed to a failed operation.
constexpr char kUsageReason[] = "Usage";
Status UsageError(std::string message) {
  return Status(Code::kInvalidArgument, kUsageReason, std::move(message));
}

Result<S3Path> ParseS3Url(const std::string& text) {
  if (!IsS3Url(text)) return UsageError("'" + text + "' is not an s3://BUCKET[/KEY] URL");
  std::string rest = text.substr(strlen(kScheme));
  size_t slash = rest.find('/');
  S3Path path{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  if (path.bucket.empty()) return UsageError("'" + text + "' names no bucket");
  return path;
}

// "16777216", "16M", "64MiB", "1G": binary multiples.
std::optional<uint64_t> ParseSize(std::string text) {
  uint64_t multiplier = 1;
  for (const char* suffix : {"iB", "B"}) {
    if (EndsWith(text, suffix) && text.size() > strlen(suffix)) {
      text.resize(text.size() - strlen(suffix));
      break;
    }
  }
  if (!text.empty()) {
    size_t shift = std::string("KMGT").find(static_cast<char>(toupper(text.back())));
    if (shift != std::string::npos) {
      multiplier = uint64_t{1} << (10 * (shift + 1));
      text.pop_back();
    }
  }
  auto value = ParseUint64(text);
  if (!value || *value > UINT64_MAX / multiplier) return std::nullopt;
  return *value * multiplier;
}

std::string Getenv(const char* name) {
  const char* value = getenv(name);
  return value ? value : "";
}

// The environment's defaults: endpoint, region and credentials (Skyway's names first).
client::Options DefaultOptions() {
  client::Options o;
  if (!Getenv("SKYWAY_ENDPOINT").empty()) o.endpoint = Getenv("SKYWAY_ENDPOINT");
  if (!Getenv("SKYWAY_REGION").empty()) o.region = Getenv("SKYWAY_REGION");
  o.access_key = Getenv("SKYWAY_ACCESS_KEY");
  o.secret_key = Getenv("SKYWAY_SECRET_KEY");
  if (o.access_key.empty() && o.secret_key.empty()) {
    o.access_key = Getenv("AWS_ACCESS_KEY_ID");
    o.secret_key = Getenv("AWS_SECRET_ACCESS_KEY");
  }
  return o;
}

Status ParseNumberFlag(const std::string& flag, const std::string& text, Invocation* inv) {
  if (flag == "--page-size") {
    auto n = ParseUint64(text);
    if (!n || *n < 1 || *n > 1000) return Status::Invalid("--page-size must be 1..1000");
    inv->page_size = static_cast<int>(*n);
  } else if (flag == "--parallel") {
    auto n = ParseUint64(text);
    if (!n || *n < 1 || *n > 1024) return Status::Invalid("--parallel must be 1..1024");
    inv->options.parallelism = static_cast<int>(*n);
  } else {
    auto n = ParseSize(text);
    if (!n || *n == 0) return Status::Invalid("--part-size must be a size such as 8388608 or 8M");
    inv->options.part_size = *n;
  }
  return Status::Ok();
}

Result<Invocation> ParseInvocation(const CommandSpec& spec, const std::vector<std::string>& args) {
  Invocation inv;
  inv.options = DefaultOptions();
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return Status::Invalid(a + " needs a value");
      return args[++i];
    };
    if (a == "--endpoint") {
      ASSIGN_OR_RETURN(inv.options.endpoint, value());
    } else if (a == "--region") {
      ASSIGN_OR_RETURN(inv.options.region, value());
    } else if (a == "--no-direct") {
      inv.options.direct = false;
    } else if (a == "--parallel" || a == "--part-size" || (a == "--page-size" && spec.lists)) {
      ASSIGN_OR_RETURN(std::string text, value());
      RETURN_IF_ERROR(ParseNumberFlag(a, text, &inv));
    } else if ((a == "--recursive" || a == "-r") && spec.takes_recursive) {
      inv.recursive = true;
    } else if (a == "--force" && spec.takes_force) {
      inv.force = true;
    } else if (a == "--") {
      inv.operands.insert(inv.operands.end(), args.begin() + i + 1, args.end());
      break;
    } else if (StartsWith(a, "-") && a != "-") {
      return Status::Invalid("unknown option " + a);
    } else {
      inv.operands.push_back(a);
    }
  }
  if (inv.operands.size() < spec.min_operands || inv.operands.size() > spec.max_operands) {
    return Status::Invalid("wrong number of arguments");
  }
  if (inv.options.endpoint.find("://") == std::string::npos) {
    inv.options.endpoint = "http://" + inv.options.endpoint;
  }
  return inv;
}

void PrintUsage(const CommandSpec& spec) {
  fprintf(stderr, "usage: skyway %s [options] %s\n\n%s\n\noptions:\n", spec.name, spec.operands,
          spec.summary);
  if (spec.takes_recursive) fprintf(stderr, "  -r, --recursive   every key under the prefix\n");
  if (spec.takes_force) fprintf(stderr, "  --force           delete the bucket's objects first\n");
  if (spec.lists) fprintf(stderr, "  --page-size N     keys per list request (default 1000)\n");
  fprintf(stderr,
          "  --endpoint URL    the server (default $SKYWAY_ENDPOINT, else http://127.0.0.1:9000)\n"
          "  --region REGION   the region to sign for (default $SKYWAY_REGION, else us-east-1)\n"
          "  --no-direct       plain HTTP only, even where the direct data path is offered\n"
          "  --parallel N      concurrent requests of one transfer (default 4)\n"
          "  --part-size SIZE  ranged GET / multipart part size, e.g. 8M (default 16M)\n"
          "Credentials come from SKYWAY_ACCESS_KEY and SKYWAY_SECRET_KEY, else\n"
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.\n");
}

// ---- Errors ---------------------------------------------------------------------------------

// "s3://b/k: NoSuchKey: The specified key does not exist." Keeps the code and S3 reason.
Status Failed(const Status& st, const std::string& what) {
  std::string text = what;
  if (!st.reason().empty() && st.message().find(st.reason()) == std::string::npos) {
    text += ": " + st.reason();
  }
  if (!st.message().empty()) text += ": " + st.message();
  return Status(st.code(), st.reason(), text);
}

// ---- Commands -------------------------------------------------------------------------------

using Body = std::function<Status(client::Client&, const Invocation&)>;

// Parses the arguments, connects and runs body; prints usage (exit 2) or the error (exit 1).
int RunCommand(const CommandSpec& spec, const std::vector<std::string>& args, const Body& body) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      PrintUsage(spec);
      return 0;
    }
  }
  auto inv = ParseInvocation(spec, args);
  if (!inv.ok()) {
    fprintf(stderr, "skyway %s: %s\n", spec.name, inv.status().message().c_str());
    PrintUsage(spec);
    return kExitUsage;
  }
  Status st;
  if (inv->options.access_key.empty() || inv->options.secret_key.empty()) {
    st = Status::Invalid(
        "no credentials: set SKYWAY_ACCESS_KEY and SKYWAY_SECRET_KEY (or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY)");
  } else if (auto client = client::Client::Create(inv->options); !client.ok()) {
    st = Failed(client.status(), inv->options.endpoint);
  } else {
    st = body(**client, *inv);
  }
  if (st.ok()) return 0;
  // No S3 error code and an I/O error: the server could not be reached or broke off.
  std::string where = st.reason().empty() && st.code() == Code::kIOError
                          ? " (endpoint " + inv->options.endpoint + ")"
                          : "";
  fprintf(stderr, "skyway %s: %s%s\n", spec.name, st.message().c_str(), where.c_str());
  if (st.reason() != kUsageReason) return kExitFailed;
  PrintUsage(spec);
  return kExitUsage;
}

Status MakeBucket(client::Client& c, const Invocation& inv) {
  ASSIGN_OR_RETURN(S3Path path, ParseS3Url(inv.operands[0]));
  if (!path.key.empty()) return UsageError("mb takes s3://BUCKET, without a key");
  Status st = c.CreateBucket(path.bucket);
  if (!st.ok()) return Failed(st, path.ToString());
  printf("make_bucket: %s\n", path.ToString().c_str());
  return Status::Ok();
}

// Calls fn for every object under prefix, page by page.
Status ForEachObject(client::Client& c, const S3Path& path, int page_size,
                     const std::function<Status(const client::ObjectInfo&)>& fn) {
  std::string token;
  while (true) {
    auto page = c.List(path.bucket, path.key, "", token, page_size);
    if (!page.ok()) return Failed(page.status(), path.ToString());
    for (const auto& object : page->objects) RETURN_IF_ERROR(fn(object));
    if (!page->truncated || page->next_token.empty()) return Status::Ok();
    token = page->next_token;
  }
}

Status DeleteObject(client::Client& c, const std::string& bucket, const std::string& key) {
  S3Path path{bucket, key};
  Status st = c.Delete(bucket, key);
  if (!st.ok()) return Failed(st, path.ToString());
  printf("delete: %s\n", path.ToString().c_str());
  return Status::Ok();
}

Status DeleteUnder(client::Client& c, const S3Path& path, int page_size) {
  return ForEachObject(c, path, page_size, [&](const client::ObjectInfo& object) {
    return DeleteObject(c, path.bucket, object.key);
  });
}

Status RemoveBucket(client::Client& c, const Invocation& inv) {
  ASSIGN_OR_RETURN(S3Path path, ParseS3Url(inv.operands[0]));
  if (!path.key.empty()) return UsageError("rb takes s3://BUCKET, without a key");
  if (inv.force) RETURN_IF_ERROR(DeleteUnder(c, path, inv.page_size));
  Status st = c.DeleteBucket(path.bucket);
  if (!st.ok()) return Failed(st, path.ToString());
  printf("remove_bucket: %s\n", path.ToString().c_str());
  return Status::Ok();
}

Status ListBuckets(client::Client& c) {
  auto buckets = c.ListBuckets();
  if (!buckets.ok()) return Failed(buckets.status(), "list buckets");
  for (const auto& name : *buckets) printf("%s%s\n", kScheme, name.c_str());
  return Status::Ok();
}

// Like `aws s3 ls`: "PRE prefix/" lines, then "last-modified size key" lines, full keys.
Status ListObjects(client::Client& c, const S3Path& path, bool recursive, int page_size) {
  std::string token;
  while (true) {
    auto page = c.List(path.bucket, path.key, recursive ? "" : "/", token, page_size);
    if (!page.ok()) return Failed(page.status(), path.ToString());
    for (const auto& prefix : page->common_prefixes) {
      printf("%24s %12s %s\n", "", "PRE", prefix.c_str());
    }
    for (const auto& o : page->objects) {
      printf("%24s %12llu %s\n", o.last_modified.c_str(), static_cast<unsigned long long>(o.size),
             o.key.c_str());
    }
    if (!page->truncated || page->next_token.empty()) return Status::Ok();
    token = page->next_token;
  }
}

Status List(client::Client& c, const Invocation& inv) {
  if (inv.operands.empty()) return ListBuckets(c);
  ASSIGN_OR_RETURN(S3Path path, ParseS3Url(inv.operands[0]));
  return ListObjects(c, path, inv.recursive, inv.page_size);
}

Status Remove(client::Client& c, const Invocation& inv) {
  ASSIGN_OR_RETURN(S3Path path, ParseS3Url(inv.operands[0]));
  if (inv.recursive) return DeleteUnder(c, path, inv.page_size);
  if (path.key.empty()) return UsageError("rm needs s3://BUCKET/KEY (or --recursive)");
  // DeleteObject succeeds for a missing key; say so instead, as `mc rm` does.
  auto info = c.Stat(path.bucket, path.key);
  if (!info.ok()) return Failed(info.status(), path.ToString());
  return DeleteObject(c, path.bucket, path.key);
}

Status StatObject(client::Client& c, const Invocation& inv) {
  ASSIGN_OR_RETURN(S3Path path, ParseS3Url(inv.operands[0]));
  if (path.key.empty()) return UsageError("stat needs s3://BUCKET/KEY");
  auto info = c.Stat(path.bucket, path.key);
  if (!info.ok()) return Failed(info.status(), path.ToString());
  printf("Name:          %s\n", path.ToString().c_str());
  printf("Size:          %llu (%s)\n", static_cast<unsigned long long>(info->size),
         FormatBytes(info->size).c_str());
  printf("ETag:          %s\n", info->etag.c_str());
  printf("Last modified: %s\n", info->last_modified.c_str());
  printf("Content type:  %s\n", info->content_type.c_str());
  return Status::Ok();
}

// ---- cp -------------------------------------------------------------------------------------

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status CheckLocalSource(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(path, errno);
  if (!S_ISREG(st.st_mode)) return Status::Invalid(path + ": not a regular file");
  return Status::Ok();
}

struct Transfer {
  std::string verb;  // upload, download, copy
  std::string from, to;
  client::TransferResult result;
};

Result<Transfer> Upload(client::Client& c, const std::string& src, S3Path dst,
                        const client::Progress& progress) {
  RETURN_IF_ERROR(CheckLocalSource(src));
  if (dst.key.empty() || EndsWith(dst.key, "/")) dst.key += BaseName(src);
  auto r = c.Upload(src, dst.bucket, dst.key, progress);
  if (!r.ok()) return Failed(r.status(), "upload " + src + " to " + dst.ToString());
  return Transfer{"upload", src, dst.ToString(), *r};
}

Result<Transfer> Download(client::Client& c, const S3Path& src, std::string dst,
                          const client::Progress& progress) {
  if (src.key.empty() || EndsWith(src.key, "/")) {
    return UsageError(src.ToString() + " names no object (cp copies one object)");
  }
  if (EndsWith(dst, "/") || IsDirectory(dst)) {
    dst += (EndsWith(dst, "/") ? "" : "/") + BaseName(src.key);
  }
  auto r = c.Download(src.bucket, src.key, dst, progress);
  if (!r.ok()) return Failed(r.status(), "download " + src.ToString() + " to " + dst);
  return Transfer{"download", src.ToString(), dst, *r};
}

Result<Transfer> CopyObject(client::Client& c, const S3Path& src, S3Path dst) {
  if (src.key.empty() || EndsWith(src.key, "/")) {
    return UsageError(src.ToString() + " names no object (cp copies one object)");
  }
  if (dst.key.empty() || EndsWith(dst.key, "/")) dst.key += BaseName(src.key);
  auto r = c.Copy(src.bucket, src.key, dst.bucket, dst.key);
  if (!r.ok()) return Failed(r.status(), "copy " + src.ToString() + " to " + dst.ToString());
  if (r->bytes == 0) {  // CopyObject's answer has no size; the summary wants one
    auto info = c.Stat(dst.bucket, dst.key);
    if (info.ok()) r->bytes = info->size;
  }
  return Transfer{"copy", src.ToString(), dst.ToString(), *r};
}

Result<Transfer> RunTransfer(client::Client& c, const std::string& src, const std::string& dst,
                             const client::Progress& progress) {
  if (!IsS3Url(src) && !IsS3Url(dst)) {
    return UsageError("cp needs an s3:// URL on at least one side");
  }
  if (!IsS3Url(src)) {
    ASSIGN_OR_RETURN(S3Path to, ParseS3Url(dst));
    return Upload(c, src, to, progress);
  }
  ASSIGN_OR_RETURN(S3Path from, ParseS3Url(src));
  if (!IsS3Url(dst)) return Download(c, from, dst, progress);
  ASSIGN_OR_RETURN(S3Path to, ParseS3Url(dst));
  return CopyObject(c, from, to);
}

Status Copy(client::Client& c, const Invocation& inv) {
  auto start = std::chrono::steady_clock::now();
  Transfer t;
  {
    ProgressBar bar;  // ends its line before the summary is printed
    auto progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
    ASSIGN_OR_RETURN(t, RunTransfer(c, inv.operands[0], inv.operands[1], progress));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const char* transport = t.result.transport == client::Transport::kDirect ? "direct" : "http";
  printf("%s: %s -> %s (%s in %.3f s, %s, transport %s)\n", t.verb.c_str(), t.from.c_str(),
         t.to.c_str(), FormatBytes(t.result.bytes).c_str(), seconds,
         FormatRate(t.result.bytes, seconds).c_str(), transport);
  return Status::Ok();
}

// ---- Table ----------------------------------------------------------------------------------

const CommandSpec kMb{.name = "mb", .operands = "s3://BUCKET", .summary = "Creates a bucket."};
const CommandSpec kRb{.name = "rb",
                      .operands = "s3://BUCKET",
                      .summary = "Deletes a bucket; it must be empty unless --force is given.",
                      .takes_force = true,
                      .lists = true};
const CommandSpec kLs{
    .name = "ls",
    .operands = "[s3://BUCKET[/PREFIX]]",
    .summary = "Lists buckets, or the keys and common prefixes ('/') under a prefix.",
    .min_operands = 0,
    .takes_recursive = true,
    .lists = true};
const CommandSpec kCp{.name = "cp",
                      .operands = "SRC DST",
                      .summary =
                          "Copies one object: local file -> s3://, s3:// -> local file, or\n"
                          "s3:// -> s3:// (server side). A destination ending in '/' (or a\n"
                          "local directory) gets the source's name.",
                      .min_operands = 2,
                      .max_operands = 2};
const CommandSpec kRm{
    .name = "rm",
    .operands = "s3://BUCKET/KEY",
    .summary = "Deletes an object, or with --recursive every object under the prefix.",
    .takes_recursive = true,
    .lists = true};
const CommandSpec kStat{
    .name = "stat",
    .operands = "s3://BUCKET/KEY",
    .summary = "Shows an object's size, ETag, last-modified time and content type."};

}  // namespace

int MbCommand(const std::vector<std::string>& args) { return RunCommand(kMb, args, MakeBucket); }
int RbCommand(const std::vector<std::string>& args) { return RunCommand(kRb, args, RemoveBucket); }
int LsCommand(const std::vector<std::string>& args) { return RunCommand(kLs, args, List); }
int CpCommand(const std::vector<std::string>& args) { return RunCommand(kCp, args, Copy); }
int RmCommand(const std::vector<std::string>& args) { return RunCommand(kRm, args, Remove); }
int StatCommand(const std::vector<std::string>& args) {
  return RunCommand(kStat, args, StatObject);
}

}  // namespace skyway::cli
