#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include <thread>

#include "http/http.h"

namespace skyway::http {
namespace {

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t step = 3) : data_(std::move(data)), step_(step) {}
  Result<size_t> ReadSome(char* buf, size_t n) override {
    n = std::min({n, step_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t step_;
  size_t pos_ = 0;
};

Result<std::string> ReadAll(BodyReader* body) {
  std::string out;
  char buf[7];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, body->Read(buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

Status Parse(std::string head, Request* r) { return ParseRequestHead(head, Limits(), r); }

TEST(ParseRequestHead, ParsesTargetQueryAndHeaders) {
  Request r;
  ASSERT_TRUE(Parse("GET /b/a%20key?list-type=2&prefix=a%2Fb&uploads HTTP/1.1\r\n"
                    "Host: x\r\nX-Amz-Meta-A:  v 1 \r\n", &r).ok());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/b/a key");
  EXPECT_EQ(r.raw_path, "/b/a%20key");
  EXPECT_EQ(*r.Query("prefix"), "a/b");
  EXPECT_EQ(*r.Query("uploads"), "");
  EXPECT_FALSE(r.Query("nope").has_value());
  EXPECT_EQ(*r.headers.Get("x-amz-meta-a"), "v 1");
}

TEST(ParseRequestHead, RejectsMalformed) {
  const char* bad[] = {
      "GET\r\nHost: x",
      "GET / HTTP/2.0\r\nHost: x",
      "GET relative HTTP/1.1\r\nHost: x",
      "G(T / HTTP/1.1\r\nHost: x",
      "GET / HTTP/1.1",                                    // no Host
      "GET / HTTP/1.1\r\nHost: x\r\n folded",              // obs-fold
      "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v",
      "GET / HTTP/1.1\r\nHost: x\r\nNoColon",
      "GET /%zz HTTP/1.1\r\nHost: x",
      "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2",
      "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: -1",
      "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01" "b",
  };
  for (const char* head : bad) {
    Request r;
    Status st = Parse(head, &r);
    EXPECT_FALSE(st.ok()) << head;
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << head;
  }
  Request r;
  EXPECT_EQ(Parse("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip", &r).reason(),
            "NotImplemented");
}

TEST(ParseRequestHead, LimitsHeaderCount) {
  std::string head = "GET / HTTP/1.1\r\nHost: x";
  for (int i = 0; i < 300; i++) head += "\r\nX-" + std::to_string(i) + ": v";
  Request r;
  EXPECT_EQ(Parse(head, &r).reason(), "RequestHeaderSectionTooLarge");
}

TEST(Bodies, LengthBodyReadsExactlyAndDetectsShortBodies) {
  StringSource src("hello worldEXTRA");
  auto body = MakeLengthBody(&src, 11);
  EXPECT_EQ(*ReadAll(body.get()), "hello world");
  EXPECT_TRUE(body->finished());
  StringSource short_src("hel");
  auto short_body = MakeLengthBody(&short_src, 11);
  auto r = ReadAll(short_body.get());
  EXPECT_EQ(r.status().code(), Code::kAborted);
  EXPECT_FALSE(short_body->finished());
}

TEST(Bodies, ChunkedDecodes) {
  StringSource src("5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT");
  auto body = MakeChunkedBody(&src);
  EXPECT_EQ(*ReadAll(body.get()), "hello world");
  EXPECT_TRUE(body->finished());
}

TEST(Bodies, ChunkedRejectsBadFraming) {
  for (const char* bad : {"z\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX\r\n0\r\n\r\n", "5\nhello\r\n",
                          "ffffffffffffffffff\r\n", "5\r\nhel"}) {
    StringSource src(bad);
    auto body = MakeChunkedBody(&src);
    EXPECT_FALSE(ReadAll(body.get()).ok()) << bad;
  }
}

// A real server on a free port: keep-alive, pipelining, 100-continue, errors and close.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(
        [](Request& req, Response& resp) {
          auto body = req.ReadBody(1 << 20);
          resp.headers.Set("X-Method", req.method);
          resp.SetBody(req.path + "|" + (body.ok() ? *body : "ERR"));
        },
        [](int status, std::string_view reason, std::string_view, Response& resp) {
          resp.status = status;
          resp.SetBody(std::string(reason));
        });
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0).ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    server_->Shutdown();
    thread_.join();
  }
  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static void Send(int fd, const std::string& s) {
    ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Reads until the peer closes (or the timeout).
  static std::string ReadToClose(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, KeepAliveAndPipelining) {
  int fd = Connect();
  Send(fd, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
           "PUT /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = ReadToClose(fd);
  close(fd);
  EXPECT_NE(all.find("/one|"), std::string::npos);
  EXPECT_NE(all.find("/two|abc"), std::string::npos);
  EXPECT_NE(all.find("/three|"), std::string::npos);
  EXPECT_NE(all.find("Connection: close"), std::string::npos);
}

TEST_F(ServerTest, SendsContinueBeforeReadingBody) {
  int fd = Connect();
  Send(fd, "PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  char buf[64] = {};
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "hi");
  shutdown(fd, SHUT_WR);
  std::string rest = ReadToClose(fd);
  close(fd);
  EXPECT_NE(rest.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(rest.find("/c|hi"), std::string::npos);
}

TEST_F(ServerTest, MalformedRequestGets400ThenServerKeepsServing) {
  int fd = Connect();
  Send(fd, "THIS IS NOT HTTP\r\n\r\n");
  std::string reply = ReadToClose(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  fd = Connect();
  Send(fd, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  reply = ReadToClose(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

TEST_F(ServerTest, OversizedHeadIsRefused) {
  int fd = Connect();
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'a');
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  std::string reply = ReadToClose(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(reply.find("RequestHeaderSectionTooLarge"), std::string::npos);
}

TEST_F(ServerTest, HeadGetsNoBody) {
  int fd = Connect();
  Send(fd, "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string reply = ReadToClose(fd);
  close(fd);
  EXPECT_EQ(reply.substr(reply.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace skyway::http
