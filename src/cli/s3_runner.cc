// StoreRunner: the object store assembled from its modules and served over HTTP.
#include "cli/s3_runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>

#include "directpath/directpath.h"
#include "http/http.h"
#include "s3/s3.h"
#include "store/store.h"

namespace skyway::cli {
namespace {

std::string RandomKey(size_t n, const char* alphabet) {
  std::string raw = RandomBytes(n), out;
  size_t len = std::char_traits<char>::length(alphabet);
  for (unsigned char c : raw) out.push_back(alphabet[c % len]);
  return out;
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  auto n = colon == std::string::npos ? std::nullopt : ParseUint64(text.substr(colon + 1));
  if (!n || *n > 65535) return Status::Invalid("--address must be HOST:PORT");
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(*n);
  return Status::Ok();
}

Status ResolveCredentials(const std::string& dir, std::string* access_key, std::string* secret_key) {
  if (access_key->empty() && getenv("SKYWAY_ACCESS_KEY")) *access_key = getenv("SKYWAY_ACCESS_KEY");
  if (secret_key->empty() && getenv("SKYWAY_SECRET_KEY")) *secret_key = getenv("SKYWAY_SECRET_KEY");
  if (access_key->empty() != secret_key->empty()) {
    return Status::Invalid("give both an access key and a secret key, or neither");
  }
  if (!access_key->empty()) return Status::Ok();
  std::string path = dir + "/credentials";
  std::ifstream in(path);
  if (in >> *access_key >> *secret_key) {
    LogInfo("credentials: access key " + *access_key + " (secret in " + path + ")");
    return Status::Ok();
  }
  *access_key = "SKY" + RandomKey(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
  *secret_key = RandomKey(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("create " + path, errno);
  std::string text = *access_key + "\n" + *secret_key + "\n";
  RETURN_IF_ERROR(WriteAll(fd.get(), text.data(), text.size()));
  printf("Generated credentials (saved in %s):\n  access key: %s\n  secret key: %s\n", path.c_str(),
         access_key->c_str(), secret_key->c_str());
  return Status::Ok();
}

struct StoreRunner::State {
  StoreOptions options;
  std::unique_ptr<store::Backend> backend;
  s3::Config config;
  directpath::RegionRegistry regions;
  std::unique_ptr<directpath::RegistrationServer> registration;
  std::unique_ptr<s3::Service> service;
  std::unique_ptr<http::Server> server;
};

StoreRunner::StoreRunner(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<StoreRunner>> StoreRunner::Start(StoreOptions o) {
  auto st = std::make_unique<State>();
  ASSIGN_OR_RETURN(st->backend, store::OpenLocalBackend(o.data));
  RETURN_IF_ERROR(ResolveCredentials(o.data, &o.access_key, &o.secret_key));
  if (o.domains.empty()) o.domains.push_back("localhost");
  s3::Config& config = st->config;
  config.region = o.region;
  config.domains = o.domains;
  config.credentials.push_back({o.access_key, o.secret_key});
  if (o.direct) {
    std::string path = o.direct_socket.empty() ? o.data + "/skyway.sock" : o.direct_socket;
    if (path[0] != '/') {  // clients get this path from /_skyway/direct: make it absolute
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) path = std::string(cwd) + "/" + path;
    }
    State* raw = st.get();
    st->registration = std::make_unique<directpath::RegistrationServer>(
        &st->regions,
        [raw](const std::string& ak) -> std::optional<std::string> {
          for (const auto& c : raw->config.credentials) {
            if (c.access_key == ak) return c.secret_key;
          }
          return std::nullopt;
        },
        config.max_clock_skew_seconds);
    Status ls = st->registration->Listen(path);
    if (!ls.ok()) return Status(ls.code(), "", "direct path: " + ls.message());
    st->registration->Start();
    config.regions = &st->regions;
    config.direct_socket = path;
  }
  st->service = std::make_unique<s3::Service>(st->backend.get(), config);
  s3::Service* service = st->service.get();
  st->server = std::make_unique<http::Server>(
      [service](http::Request& q, http::Response& r) { service->Handle(q, r); },
      &s3::Service::FormatProtocolError);
  RETURN_IF_ERROR(st->server->Listen(o.host, o.port));
  st->options = o;
  return std::unique_ptr<StoreRunner>(new StoreRunner(std::move(st)));
}

StoreRunner::~StoreRunner() {
  if (thread_.joinable()) {
    Shutdown();
    thread_.join();
  }
  if (state_->registration) state_->registration->Shutdown();
}

void StoreRunner::Run() { state_->server->Run(); }
void StoreRunner::RunInBackground() { thread_ = std::thread([this] { Run(); }); }
void StoreRunner::Shutdown() { state_->server->Shutdown(); }
uint16_t StoreRunner::port() const { return state_->server->port(); }
std::string StoreRunner::endpoint() const {
  return "http://" + state_->options.host + ":" + std::to_string(port());
}
const std::string& StoreRunner::direct_socket() const { return state_->config.direct_socket; }
const StoreOptions& StoreRunner::options() const { return state_->options; }

}  // namespace skyway::cli

namespace skyway::cli {
namespace {
int g_stop_pipe[2] = {-1, -1};

void OnStopSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = write(g_stop_pipe[1], &b, 1);
  errno = saved;
}
}  // namespace

StopSignal::StopSignal() {
  if (g_stop_pipe[0] < 0 && pipe2(g_stop_pipe, O_CLOEXEC) != 0) {
    LogError("stop signal pipe: " + std::string(strerror(errno)));
  }
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

StopSignal::~StopSignal() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

int StopSignal::Wait() {
  unsigned char b = 0;
  for (;;) {
    ssize_t n = read(g_stop_pipe[0], &b, 1);
    if (n == 1) return b;
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

}  // namespace skyway::cli
