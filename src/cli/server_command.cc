// `skyway server`: the S3 object store on the local backend.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "cli/s3_runner.h"
#include "common/common.h"
#include "directpath/directpath.h"
#include "http/http.h"
#include "s3/s3.h"
#include "store/store.h"

namespace skyway::cli {
namespace {

using ServerOptions = StoreOptions;

void ServerUsage() {
  fprintf(stderr,
          "usage: skyway server [--data DIR] [--address HOST:PORT] [--region REGION]\n"
          "                     [--domain NAME]... [--access-key AK --secret-key SK]\n\n"
          "  --data DIR          where objects and metadata live (default ./data)\n"
          "  --address HOST:PORT listen address (default 127.0.0.1:9000; port 0 picks one)\n"
          "  --region REGION     the region clients sign for (default us-east-1)\n"
          "  --domain NAME       serve <bucket>.NAME virtual-host-style (default localhost)\n"
          "  --direct-socket P   where same-host clients register memory for the direct data\n"
          "                      path (x-amz-rdma-token); default DIR/skyway.sock\n"
          "  --no-direct         decline x-amz-rdma-token (501): HTTP only\n"
          "Credentials come from --access-key/--secret-key, else SKYWAY_ACCESS_KEY and\n"
          "SKYWAY_SECRET_KEY, else DIR/credentials; a first start without any generates a\n"
          "pair, stores it there and prints it.\n");
}

Result<ServerOptions> ParseOptions(const std::vector<std::string>& args) {
  ServerOptions o;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return Status::Invalid(a + " needs a value");
      return args[++i];
    };
    if (a == "--data") {
      ASSIGN_OR_RETURN(o.data, value());
    } else if (a == "--address") {
      ASSIGN_OR_RETURN(std::string addr, value());
      RETURN_IF_ERROR(ParseHostPort(addr, &o.host, &o.port));
    } else if (a == "--region") {
      ASSIGN_OR_RETURN(o.region, value());
    } else if (a == "--domain") {
      ASSIGN_OR_RETURN(std::string d, value());
      o.domains.push_back(ToLower(d));
    } else if (a == "--direct-socket") {
      ASSIGN_OR_RETURN(o.direct_socket, value());
    } else if (a == "--no-direct") {
      o.direct = false;
    } else if (a == "--access-key") {
      ASSIGN_OR_RETURN(o.access_key, value());
    } else if (a == "--secret-key") {
      ASSIGN_OR_RETURN(o.secret_key, value());
    } else {
      return Status::Invalid("unknown option " + a);
    }
  }
  if (o.domains.empty()) o.domains.push_back("localhost");
  return o;
}

}  // namespace

int ServerCommand(const std::vector<std::string>& args) {
  ServerOptions o;
  if (auto rc = ParseOrExit("server", args, ServerUsage, ParseOptions, &o)) return *rc;
  StopSignal stop;  // SIGINT / SIGTERM wake the watcher thread, which stops the server
  auto runner = StoreRunner::Start(o);
  if (!runner.ok()) {
    fprintf(stderr, "skyway server: %s\n", runner.status().message().c_str());
    return 1;
  }
  StoreRunner& r = **runner;
  printf("skyway server listening on http://%s:%u (data in %s, region %s, direct path %s)\n",
         o.host.c_str(), r.port(), o.data.c_str(), o.region.c_str(),
         o.direct ? r.direct_socket().c_str() : "off");
  fflush(stdout);
  std::thread watcher([&] {
    int sig = stop.Wait();
    LogInfo("signal " + std::to_string(sig) + ": shutting down");
    r.Shutdown();
  });
  r.Run();
  watcher.join();
  return 0;
}

}  // namespace skyway::cli
