// `skyway vectordb`: the Milvus REST v2 vector database over an S3 store: an embedded one
// (--data, one command starts everything) or any S3 endpoint (--s3 URL).
#include <malloc.h>
#include <pthread.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/s3_runner.h"
#include "common/common.h"
#include "http/http.h"
#include "vectordb/vectordb.h"

namespace skyway::cli {
namespace {

struct VectordbOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 19530;
  std::string data = "./vdata";
  std::string s3;  // empty: embedded store under data
  std::string bucket = "vectordb";
  std::string access_key, secret_key;
  bool direct = true;
  vectordb::Options db;
};

void VectordbUsage() {
  fprintf(stderr,
          "usage: skyway vectordb [--address HOST:PORT] [--data DIR | --s3 URL] [options]\n\n"
          "  --address HOST:PORT  Milvus REST v2 listen address (default 127.0.0.1:19530)\n"
          "  --data DIR           run the object store in-process on DIR (default ./vdata)\n"
          "  --s3 URL             use this S3 endpoint instead (direct path when it offers it)\n"
          "  --bucket NAME        bucket holding the collections (default vectordb)\n"
          "  --access-key AK --secret-key SK   credentials (default $SKYWAY_ACCESS_KEY and\n"
          "                       $SKYWAY_SECRET_KEY; with --data, else DIR/credentials). They are\n"
          "                       the store's credentials and the API's: clients send\n"
          "                       `Authorization: Bearer AK:SK`\n"
          "  --segment-rows N     seal a growing segment at N rows (default: at 512 MiB of vectors)\n"
          "  --build-threads N    index build threads (default: all cores)\n"
          "  --build-memory-mib N working memory of a GPU_CAGRA build (default: the GPU's free\n"
          "                       memory; no limit on the CPU); a segment needing more is built\n"
          "                       from the store in streamed blocks\n"
          "  --no-direct          move segment and index bytes over plain HTTP only\n");
}

Result<VectordbOptions> ParseOptions(const std::vector<std::string>& args) {
  VectordbOptions o;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return Status::Invalid(a + " needs a value");
      return args[++i];
    };
    auto number = [&]() -> Result<uint64_t> {
      ASSIGN_OR_RETURN(std::string v, value());
      auto n = ParseUint64(v);
      if (!n) return Status::Invalid(a + " needs a number");
      return *n;
    };
    if (a == "--address") {
      ASSIGN_OR_RETURN(std::string addr, value());
      RETURN_IF_ERROR(ParseHostPort(addr, &o.host, &o.port));
    } else if (a == "--data") {
      ASSIGN_OR_RETURN(o.data, value());
    } else if (a == "--s3") {
      ASSIGN_OR_RETURN(o.s3, value());
    } else if (a == "--bucket") {
      ASSIGN_OR_RETURN(o.bucket, value());
    } else if (a == "--access-key") {
      ASSIGN_OR_RETURN(o.access_key, value());
    } else if (a == "--secret-key") {
      ASSIGN_OR_RETURN(o.secret_key, value());
    } else if (a == "--segment-rows") {
      ASSIGN_OR_RETURN(o.db.segment_rows, number());
    } else if (a == "--build-threads") {
      ASSIGN_OR_RETURN(uint64_t n, number());
      o.db.build_threads = static_cast<int>(n);
    } else if (a == "--build-memory-mib") {
      ASSIGN_OR_RETURN(uint64_t n, number());
      if (n == 0 || n > (uint64_t{1} << 30)) return Status::Invalid(a + " must be in [1, 2^30]");
      o.db.build_memory = n << 20;
    } else if (a == "--no-direct") {
      o.direct = false;
    } else {
      return Status::Invalid("unknown option " + a);
    }
  }
  return o;
}

}  // namespace

int VectordbCommand(const std::vector<std::string>& args) {
  VectordbOptions o;
  if (auto rc = ParseOrExit("vectordb", args, VectordbUsage, ParseOptions, &o)) return *rc;
  // Insert bodies and their parsed forms are tens of MB. glibc would hand such blocks back to
  // the kernel on free and fault them in again on the next request (a quarter of the insert
  // CPU): keep up to 512 MiB of freed memory in the process instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  StopSignal stop;  // SIGINT / SIGTERM wake the watcher thread, which stops the server
  auto fail = [](const std::string& msg) {
    fprintf(stderr, "skyway vectordb: %s\n", msg.c_str());
    return 1;
  };
  std::unique_ptr<StoreRunner> store;
  vectordb::Options& db = o.db;
  db.bucket = o.bucket;
  db.store.direct = o.direct;
  if (o.s3.empty()) {
    mkdir(o.data.c_str(), 0755);
    StoreOptions so;
    so.data = o.data;
    so.port = 0;  // private: only this process talks to it
    so.access_key = o.access_key;
    so.secret_key = o.secret_key;
    so.direct = o.direct;
    auto runner = StoreRunner::Start(so);
    if (!runner.ok()) return fail("embedded store: " + runner.status().message());
    store = std::move(runner).value();
    store->RunInBackground();
    db.store.endpoint = store->endpoint();
    db.store.direct_socket = store->direct_socket();
    o.access_key = store->options().access_key;
    o.secret_key = store->options().secret_key;
  } else {
    Status st = ResolveCredentials(".", &o.access_key, &o.secret_key);
    if (!st.ok()) return fail(st.message());
    db.store.endpoint = o.s3;
  }
  db.store.access_key = db.access_key = o.access_key;
  db.store.secret_key = db.secret_key = o.secret_key;
  auto service = vectordb::Service::Open(db);
  if (!service.ok()) return fail(service.status().message());
  vectordb::Service* svc = service->get();
  http::Server server([svc](http::Request& q, http::Response& r) { svc->Handle(q, r); },
                      &vectordb::Service::FormatError);
  Status st = server.Listen(o.host, o.port);
  if (!st.ok()) return fail(st.message());
  printf("skyway vectordb listening on http://%s:%u (store %s, bucket %s, direct path %s)\n",
         o.host.c_str(), server.port(),
         o.s3.empty() ? ("embedded in " + o.data).c_str() : o.s3.c_str(), o.bucket.c_str(),
         o.direct ? "when offered" : "off");
  fflush(stdout);
  std::thread watcher([&] {
    int sig = stop.Wait();
    LogInfo("signal " + std::to_string(sig) + ": shutting down");
    server.Shutdown();
  });
  server.Run();
  watcher.join();
  service->reset();  // background work stops before the store does
  return 0;
}

}  // namespace skyway::cli
