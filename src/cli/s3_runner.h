// The S3 object store as a running thing: local backend, direct-path registration socket, S3
// service and HTTP server. `skyway server` runs one in the foreground; `skyway vectordb --data`
// runs one in-process on a private port as its embedded store. Private to cli/.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/common.h"

namespace skyway::cli {

struct StoreOptions {
  std::string data = "./data";
  std::string host = "127.0.0.1";
  uint16_t port = 9000;  // 0: the kernel picks
  std::string region = "us-east-1";
  std::vector<std::string> domains;
  std::string access_key, secret_key;
  std::string direct_socket;  // empty: DATA/skyway.sock
  bool direct = true;
};

// "HOST:PORT" (--address of `skyway server` and `skyway vectordb`). Errors: kInvalidArgument.
Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port);

// Flags, then SKYWAY_ACCESS_KEY / SKYWAY_SECRET_KEY, then DIR/credentials; otherwise a new pair
// is generated, saved there (mode 0600) and printed once. REQUIRES: dir exists.
Status ResolveCredentials(const std::string& dir, std::string* access_key, std::string* secret_key);

class StoreRunner {
 public:
  // Opens the backend and listens (HTTP and the registration socket); serves once Run() or
  // RunInBackground() is called.
  static Result<std::unique_ptr<StoreRunner>> Start(StoreOptions options);
  ~StoreRunner();
  void Run();              // serves until Shutdown()
  void RunInBackground();  // serves on its own thread
  void Shutdown();         // safe from another thread

  uint16_t port() const;
  std::string endpoint() const;
  const std::string& direct_socket() const;  // empty when the direct path is off
  const StoreOptions& options() const;

  struct State;

 private:
  explicit StoreRunner(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace skyway::cli

namespace skyway::cli {

// SIGINT / SIGTERM as an event a thread can wait for. A handler writes the signal number to a
// pipe, so the signal may land on any thread, including ones libraries start before main
// (OpenBLAS does): blocking it with sigprocmask in main cannot cover those.
class StopSignal {
 public:
  StopSignal();   // installs the handlers
  ~StopSignal();  // restores the default actions
  int Wait();     // blocks until a signal arrives; returns its number
};

}  // namespace skyway::cli
