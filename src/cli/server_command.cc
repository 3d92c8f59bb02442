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
#include "common/common.h"
#include "directpath/directpath.h"
#include "http/http.h"
#include "s3/s3.h"
#include "store/store.h"

namespace skyway::cli {
namespace {

struct ServerOptions {
  std::string data = "./data";
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  std::string region = "us-east-1";
  std::vector<std::string> domains;
  std::string access_key, secret_key;
  std::string direct_socket;  // empty: DATA/skyway.sock
  bool direct = true;
};

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
      size_t colon = addr.rfind(':');
      auto port = colon == std::string::npos ? std::nullopt : ParseUint64(addr.substr(colon + 1));
      if (!port || *port > 65535) return Status::Invalid("--address must be HOST:PORT");
      o.host = addr.substr(0, colon);
      o.port = static_cast<uint16_t>(*port);
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

std::string RandomKey(size_t n, const char* alphabet) {
  std::string raw = RandomBytes(n), out;
  size_t len = std::char_traits<char>::length(alphabet);
  for (unsigned char c : raw) out.push_back(alphabet[c % len]);
  return out;
}

// Flags, then the environment, then DIR/credentials; otherwise a new pair is generated, saved
// (mode 0600) and printed once.
Status ResolveCredentials(ServerOptions* o) {
  if (o->access_key.empty() && getenv("SKYWAY_ACCESS_KEY")) o->access_key = getenv("SKYWAY_ACCESS_KEY");
  if (o->secret_key.empty() && getenv("SKYWAY_SECRET_KEY")) o->secret_key = getenv("SKYWAY_SECRET_KEY");
  if (o->access_key.empty() != o->secret_key.empty()) {
    return Status::Invalid("give both an access key and a secret key, or neither");
  }
  if (!o->access_key.empty()) return Status::Ok();
  std::string path = o->data + "/credentials";
  std::ifstream in(path);
  if (in >> o->access_key >> o->secret_key) {
    LogInfo("credentials: access key " + o->access_key + " (secret in " + path + ")");
    return Status::Ok();
  }
  o->access_key = "SKY" + RandomKey(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
  o->secret_key = RandomKey(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("create " + path, errno);
  std::string text = o->access_key + "\n" + o->secret_key + "\n";
  RETURN_IF_ERROR(WriteAll(fd.get(), text.data(), text.size()));
  printf("Generated credentials (saved in %s):\n  access key: %s\n  secret key: %s\n", path.c_str(),
         o->access_key.c_str(), o->secret_key.c_str());
  return Status::Ok();
}

}  // namespace

int ServerCommand(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      ServerUsage();
      return 0;
    }
  }
  auto options = ParseOptions(args);
  if (!options.ok()) {
    fprintf(stderr, "skyway server: %s\n", options.status().message().c_str());
    ServerUsage();
    return 2;
  }
  ServerOptions& o = *options;
  // Signals go to one waiting thread, which stops the server. They are blocked before any
  // other thread exists (RocksDB starts its own), so no other thread ever takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto backend = store::OpenLocalBackend(o.data);
  Status st = backend.ok() ? ResolveCredentials(&o) : backend.status();
  if (!st.ok()) {
    fprintf(stderr, "skyway server: %s\n", st.message().c_str());
    return 1;
  }
  s3::Config config;
  config.region = o.region;
  config.domains = o.domains;
  config.credentials.push_back({o.access_key, o.secret_key});
  directpath::RegionRegistry regions;
  std::unique_ptr<directpath::RegistrationServer> registration;
  if (o.direct) {
    std::string path = o.direct_socket.empty() ? o.data + "/skyway.sock" : o.direct_socket;
    if (path[0] != '/') {  // clients get this path from /_skyway/direct: make it absolute
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) path = std::string(cwd) + "/" + path;
    }
    registration = std::make_unique<directpath::RegistrationServer>(
        &regions,
        [&config](const std::string& ak) -> std::optional<std::string> {
          for (const auto& c : config.credentials) {
            if (c.access_key == ak) return c.secret_key;
          }
          return std::nullopt;
        },
        config.max_clock_skew_seconds);
    st = registration->Listen(path);
    if (!st.ok()) {
      fprintf(stderr, "skyway server: direct path: %s\n", st.message().c_str());
      return 1;
    }
    registration->Start();
    config.regions = &regions;
    config.direct_socket = path;
  }
  s3::Service service(backend->get(), config);
  http::Server server([&](http::Request& q, http::Response& r) { service.Handle(q, r); },
                      &s3::Service::FormatProtocolError);
  st = server.Listen(o.host, o.port);
  if (!st.ok()) {
    fprintf(stderr, "skyway server: %s\n", st.message().c_str());
    return 1;
  }
  printf("skyway server listening on http://%s:%u (data in %s, region %s, direct path %s)\n",
         o.host.c_str(), server.port(), o.data.c_str(), o.region.c_str(),
         o.direct ? config.direct_socket.c_str() : "off");
  fflush(stdout);
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    LogInfo("signal " + std::to_string(sig) + ": shutting down");
    server.Shutdown();
  });
  server.Run();
  watcher.join();
  if (registration) registration->Shutdown();
  return 0;
}

}  // namespace skyway::cli
