// An S3 service in this process on a free 127.0.0.1 port, with its registration socket, for
// the direct-path tests (host memory in direct_test, GPU memory in gpu_direct_test).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "client/client.h"
#include "directpath/directpath.h"
#include "s3/s3.h"

namespace skyway {

class S3Fixture : public ::testing::Test {
 protected:
  void Start(bool serve_tokens) {
    namespace fs = std::filesystem;
    dir_ = fs::temp_directory_path() / ("skyway-direct-" + HexEncode(RandomBytes(6)));
    backend_ = std::move(store::OpenLocalBackend(dir_.string())).value();
    registry_ = std::make_unique<directpath::RegionRegistry>();
    registration_ = std::make_unique<directpath::RegistrationServer>(
        registry_.get(),
        [](const std::string& ak) -> std::optional<std::string> {
          return ak == "AK" ? std::optional<std::string>("SK") : std::nullopt;
        },
        900);
    socket_ = (dir_ / "skyway.sock").string();
    ASSERT_TRUE(registration_->Listen(socket_).ok());
    registration_->Start();
    s3::Config config;
    config.credentials.push_back({"AK", "SK"});
    if (serve_tokens) {
      config.regions = registry_.get();
      config.direct_socket = socket_;
    }
    service_ = std::make_unique<s3::Service>(backend_.get(), config);
    server_ = std::make_unique<http::Server>(
        [this](http::Request& q, http::Response& r) { service_->Handle(q, r); },
        &s3::Service::FormatProtocolError);
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0).ok());
    thread_ = std::thread([this] { server_->Run(); });
  }

  void Stop() {
    server_->Shutdown();
    thread_.join();
    registration_->Shutdown();
    server_.reset();
    service_.reset();
    registration_.reset();
    registry_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }

  client::Options Options(bool direct) {
    client::Options o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    o.access_key = "AK";
    o.secret_key = "SK";
    o.direct = direct;
    o.direct_socket = socket_;  // given: a declining server does not advertise it
    o.part_size = 5 << 20;
    o.parallelism = 3;
    return o;
  }

  std::unique_ptr<client::Client> NewClient(bool direct) {
    return std::move(client::Client::Create(Options(direct))).value();
  }

  std::filesystem::path dir_;
  std::string socket_;
  std::unique_ptr<store::Backend> backend_;
  std::unique_ptr<directpath::RegionRegistry> registry_;
  std::unique_ptr<directpath::RegistrationServer> registration_;
  std::unique_ptr<s3::Service> service_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace skyway
