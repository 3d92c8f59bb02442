// The direct data path end to end, in one process: a real S3 service on a free port with its
// registration socket, and the client library, with memory poisoned around every target to
// prove no byte lands outside the named range.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "client/client.h"
#include "client/http_client.h"
#include "directpath/directpath.h"
#include "s3/s3.h"
#include "s3_fixture.h"

namespace skyway {
namespace {

namespace fs = std::filesystem;

class DirectPathTest : public S3Fixture {
 protected:
  void SetUp() override { Start(/*direct=*/true); }
  void TearDown() override { Stop(); }

  static std::string Pattern(size_t n, int seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((i * 131 + seed * 7) >> 3);
    return s;
  }

  // Sends a GET with a hand-made token; returns the S3 error code ("" on success).
  std::string RawGet(const std::string& key, const std::string& token) {
    client::HttpClient http(Options(true));
    client::HttpRequest req;
    req.bucket = "bkt";
    req.key = key;
    req.headers.emplace_back("x-amz-rdma-token", token);
    auto r = http.Perform(req);
    EXPECT_TRUE(r.ok());
    if (r->status == 200 || r->status == 206) return "";
    return client::ErrorOf(*r).reason() + " " + r->Header("x-amz-rdma-reply");
  }
};

TEST_F(DirectPathTest, PutAndGetThroughRegisteredMemory) {
  auto c = NewClient(true);
  Status created = c->CreateBucket("bkt");
  ASSERT_TRUE(created.ok()) << created.ToString();
  std::string data = Pattern(3 << 20, 1);
  auto buf = c->Allocate(data.size() + 4096);
  ASSERT_TRUE(buf.ok());
  ASSERT_TRUE((*buf)->registered());
  std::memcpy((*buf)->data(), data.data(), data.size());
  auto put = c->Put("bkt", "obj", (*buf)->data(), data.size());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->transport, client::Transport::kDirect);
  EXPECT_EQ(put->etag, Md5Hex(data));
  // Poison, then read the whole object and a range into it.
  std::memset((*buf)->data(), 0xAB, (*buf)->size());
  auto get = c->Get("bkt", "obj", (*buf)->data(), (*buf)->size());
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->transport, client::Transport::kDirect);
  EXPECT_EQ(get->bytes, data.size());
  EXPECT_EQ(std::string((*buf)->data(), data.size()), data);
  for (size_t i = data.size(); i < (*buf)->size(); i++) ASSERT_EQ((*buf)->data()[i], '\xAB');
  std::memset((*buf)->data(), 0xAB, (*buf)->size());
  auto range = c->Get("bkt", "obj", (*buf)->data() + 100, 1000, 5000, 1000);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->transport, client::Transport::kDirect);
  EXPECT_EQ(std::string((*buf)->data() + 100, 1000), data.substr(5000, 1000));
  for (size_t i = 0; i < (*buf)->size(); i++) {
    if (i < 100 || i >= 1100) {
      ASSERT_EQ((*buf)->data()[i], '\xAB') << i;
    }
  }
  // The same object over HTTP is byte for byte the same.
  auto plain = NewClient(false);
  std::string copy(data.size(), '\0');
  auto http_get = plain->Get("bkt", "obj", copy.data(), copy.size());
  ASSERT_TRUE(http_get.ok());
  EXPECT_EQ(http_get->transport, client::Transport::kHttp);
  EXPECT_EQ(copy, data);
}

TEST_F(DirectPathTest, ParallelMultipartPutAndRangedGet) {
  auto c = NewClient(true);
  Status created = c->CreateBucket("bkt");
  ASSERT_TRUE(created.ok()) << created.ToString();
  std::string data = Pattern((16 << 20) + 12345, 2);
  auto buf = c->Allocate(data.size());
  ASSERT_TRUE(buf.ok());
  std::memcpy((*buf)->data(), data.data(), data.size());
  auto put = c->ParallelPut("bkt", "big", (*buf)->data(), data.size());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->transport, client::Transport::kDirect);
  EXPECT_NE(put->etag.find("-4"), std::string::npos) << put->etag;
  std::memset((*buf)->data(), 0, (*buf)->size());
  uint64_t last = 0;
  auto get = c->ParallelGet("bkt", "big", (*buf)->data(), (*buf)->size(),
                            [&](uint64_t done, uint64_t) { last = std::max(last, done); });
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->transport, client::Transport::kDirect);
  EXPECT_EQ(last, data.size());
  EXPECT_TRUE(std::memcmp((*buf)->data(), data.data(), data.size()) == 0);
}

TEST_F(DirectPathTest, BadTokensMoveNoByte) {
  auto c = NewClient(true);
  Status created = c->CreateBucket("bkt");
  ASSERT_TRUE(created.ok()) << created.ToString();
  std::string data = Pattern(60, 3);
  ASSERT_TRUE(c->Put("bkt", "small", data.data(), data.size()).ok());
  auto reg = directpath::RegisteredBuffer::Create(socket_, "AK", "SK", "us-east-1", 4096);
  ASSERT_TRUE(reg.ok());
  std::memset((*reg)->data(), 0xAB, 4096);
  std::string good = (*reg)->Token(100, 50);
  auto parsed = directpath::ParseToken(good);
  ASSERT_TRUE(parsed.ok());
  directpath::ShmToken forged = *parsed;
  forged.key[0] ^= 1;
  EXPECT_EQ(RawGet("small", forged.Encode()), "AccessDenied ");
  directpath::ShmToken outside = *parsed;
  outside.offset = 4090;
  outside.length = 60;
  EXPECT_EQ(RawGet("small", outside.Encode()), "InvalidArgument ");
  directpath::ShmToken unknown = *parsed;
  unknown.region += 1000;
  EXPECT_EQ(RawGet("small", unknown.Encode()), "InvalidArgument ");
  EXPECT_EQ(RawGet("small", "1.shm.1.2"), "InvalidArgument ");
  EXPECT_EQ(RawGet("small", good), "InvalidArgument ") << "60 bytes do not fit in 50";
  for (int i = 0; i < 4096; i++) ASSERT_EQ((*reg)->data()[i], '\xAB') << i;
  EXPECT_EQ(RawGet("small", (*reg)->Token(100, 60)), "");
  EXPECT_EQ(std::string((*reg)->data() + 100, 60), data);
  for (int i = 0; i < 4096; i++) {
    if (i < 100 || i >= 160) {
      ASSERT_EQ((*reg)->data()[i], '\xAB') << i;
    }
  }
  // Another transport is declined with 501 so the client can fall back.
  EXPECT_EQ(RawGet("small", "1.verbs.1.2.3"), "NotImplemented 501");
  EXPECT_EQ(RawGet("small", "7f00a0:1000:1a2b:0:1234:0:0"), "NotImplemented 501");
}

TEST_F(DirectPathTest, RegistrationIsAuthenticatedAndEndsWithTheSocket) {
  EXPECT_FALSE(directpath::RegisteredBuffer::Create(socket_, "AK", "wrong", "us-east-1", 4096).ok());
  EXPECT_FALSE(directpath::RegisteredBuffer::Create(socket_, "nobody", "SK", "us-east-1", 4096).ok());
  EXPECT_FALSE(directpath::RegisteredBuffer::Create(socket_, "AK", "SK", "us-east-1", 5ull << 30).ok());
  {
    auto reg = directpath::RegisteredBuffer::Create(socket_, "AK", "SK", "us-east-1", 4096);
    ASSERT_TRUE(reg.ok());
    EXPECT_EQ(registry_->region_count(), 1u);
  }
  for (int i = 0; i < 100 && registry_->region_count() > 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(registry_->region_count(), 0u);
}

// GPU memory registers by CUDA IPC handle (REGISTER-CUDA); a server without a CUDA device
// answers Declined, and a client without one refuses before asking.
TEST_F(DirectPathTest, DeviceRegistrationIsDeclinedWithoutCuda) {
  if (directpath::gpu::Available()) GTEST_SKIP() << "a CUDA device is present (gpu_direct_test)";
  auto raw = [this](const std::string& line) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_.c_str(), socket_.size() + 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    char reply[256] = {};
    ssize_t n = ::read(fd, reply, sizeof(reply) - 1);
    ::close(fd);
    return n > 0 ? std::string(reply, static_cast<size_t>(n)) : std::string();
  };
  std::string date = FormatAmzDate(NowNanos() / 1000000000);
  std::string head = "REGISTER-CUDA AK " + date + " us-east-1 4096 " +
                     directpath::RegistrationSignature("SK", date, "us-east-1", 4096);
  EXPECT_EQ(raw(head + " " + std::string(128, 'a') + "\n").rfind("ERR Declined", 0), 0u);
  EXPECT_EQ(raw(head + "\n").rfind("ERR BadRequest", 0), 0u);  // no handle
  EXPECT_EQ(raw("CLOSE\n"), "OK closed\n");  // a synchronous goodbye (device buffers use it)
  EXPECT_EQ(registry_->region_count(), 0u);
  // The client library refuses before asking: this process has no device either.
  auto c = NewClient(true);
  char not_device[64];
  auto buf = c->RegisterDevice(not_device, sizeof(not_device));
  ASSERT_FALSE(buf.ok());
  EXPECT_EQ(buf.status().code(), Code::kFailedPrecondition);
}

class DecliningServerTest : public DirectPathTest {
 protected:
  void SetUp() override { Start(/*serve_tokens=*/false); }
};

TEST_F(DecliningServerTest, ClientFallsBackToHttp) {
  auto c = NewClient(true);
  Status created = c->CreateBucket("bkt");
  ASSERT_TRUE(created.ok()) << created.ToString();
  std::string data = Pattern(100000, 4);
  auto buf = c->Allocate(data.size());
  ASSERT_TRUE(buf.ok());
  ASSERT_TRUE((*buf)->registered());  // the socket answers, the S3 side declines tokens
  std::memcpy((*buf)->data(), data.data(), data.size());
  auto put = c->Put("bkt", "k", (*buf)->data(), data.size());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->transport, client::Transport::kHttp);
  std::memset((*buf)->data(), 0, data.size());
  auto get = c->Get("bkt", "k", (*buf)->data(), data.size());
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->transport, client::Transport::kHttp);
  EXPECT_EQ(std::string((*buf)->data(), data.size()), data);
}

TEST(Tokens, ParseAndEncode) {
  directpath::ShmToken t{7, 4096, 1 << 20, std::string(16, '\x11')};
  auto back = directpath::ParseToken(t.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->region, 7u);
  EXPECT_EQ(back->offset, 4096u);
  EXPECT_EQ(back->key, t.key);
  for (const char* bad : {"", "1", "2.shm.1.2.3.00112233445566778899aabbccddeeff",
                          "1.shm.x.2.3.00112233445566778899aabbccddeeff", "1.shm.1.2.3.0011",
                          "1.shm.1.2.3.00112233445566778899AABBCCDDEEFF",
                          "1.shm.1.18446744073709551615.2.00112233445566778899aabbccddeeff"}) {
    EXPECT_EQ(directpath::ParseToken(bad).status().reason(), directpath::kInvalidToken) << bad;
  }
  EXPECT_EQ(directpath::ParseToken("1.gpu.1.2").status().reason(), directpath::kDeclined);
}

}  // namespace
}  // namespace skyway
