// The S3 layer in process: real local backend in a temp dir, requests built and signed here.
#include <gtest/gtest.h>

#include <cstring>

#include <filesystem>

#include "s3/internal.h"
#include "sigv4/sigv4.h"

namespace skyway::s3 {
namespace {

namespace fs = std::filesystem;

class StringSource : public http::ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> ReadSome(char* buf, size_t n) override {
    n = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

struct Reply {
  int status;
  std::string body;
  http::Headers headers;
};

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("skyway-s3-" + HexEncode(RandomBytes(6)));
    backend_ = std::move(store::OpenLocalBackend(dir_.string())).value();
    Config config;
    config.credentials.push_back({"AK", "SK"});
    service_ = std::make_unique<Service>(backend_.get(), config);
  }
  void TearDown() override {
    service_.reset();
    backend_.reset();
    fs::remove_all(dir_);
  }

  // Sends one request; `mutate` may alter the signed headers before they are sent.
  Reply Send(const std::string& method, const std::string& target, const std::string& body = "",
             sigv4::Pairs extra = {}, const std::string& secret = "SK",
             std::string host = "127.0.0.1:9000", int64_t when = 0) {
    http::Request req;
    std::string head = method + " " + target + " HTTP/1.1\r\nHost: " + host;
    EXPECT_TRUE(http::ParseRequestHead(head, http::Limits(), &req).ok()) << head;
    sigv4::RequestParts parts{method, req.path, req.query, {{"Host", host}}, Sha256Hex(body)};
    for (auto& h : extra) parts.headers.push_back(h);
    parts.headers.emplace_back("Content-Length", std::to_string(body.size()));
    sigv4::SignRequest(&parts, "AK", secret, "us-east-1", when ? when : NowNanos() / 1000000000);
    req.headers = http::Headers();
    for (auto& [n, v] : parts.headers) req.headers.Add(n, v);
    StringSource src(body);
    auto reader = http::MakeLengthBody(&src, body.size());
    req.body = reader.get();
    http::Response resp;
    service_->Handle(req, resp);
    std::string out;
    for (const auto& p : resp.body) {
      if (p.file) {
        std::string chunk(p.length, '\0');
        EXPECT_TRUE(PreadAll(p.file->get(), chunk.data(), p.length, p.offset).ok());
        out += chunk;
      } else {
        out += p.data;
      }
    }
    return Reply{resp.status, out, resp.headers};
  }

  fs::path dir_;
  std::unique_ptr<store::Backend> backend_;
  std::unique_ptr<Service> service_;
};

TEST(BucketNames, Rules) {
  for (const char* ok : {"abc", "my-bucket.1", "a.b-c", "123"}) {
    EXPECT_TRUE(ValidateBucketName(ok).ok()) << ok;
  }
  for (const char* bad : {"ab", "Abc", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", "xn--abc",
                          "abc-s3alias", "sthree-x", ".ab"}) {
    EXPECT_EQ(ValidateBucketName(bad).reason(), "InvalidBucketName") << bad;
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateBucketName(std::string(63, 'a')).ok());
}

TEST_F(S3Test, PutGetRoundTripWithMetadata) {
  EXPECT_EQ(Send("PUT", "/bkt").status, 200);
  Reply put = Send("PUT", "/bkt/dir/a%20b", "payload",
                   {{"Content-Type", "text/x"}, {"X-Amz-Meta-Color", "blue"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(*put.headers.Get("etag"), "\"" + Md5Hex("payload") + "\"");
  Reply get = Send("GET", "/bkt/dir/a%20b");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "payload");
  EXPECT_EQ(*get.headers.Get("content-type"), "text/x");
  EXPECT_EQ(*get.headers.Get("x-amz-meta-color"), "blue");
  Reply range = Send("GET", "/bkt/dir/a%20b", "", {{"Range", "bytes=-3"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.body, "oad");
  EXPECT_EQ(*range.headers.Get("content-range"), "bytes 4-6/7");
  EXPECT_EQ(Send("GET", "/bkt/dir/a%20b", "", {{"Range", "bytes=7-"}}).status, 416);
}

TEST_F(S3Test, VirtualHostStyleSelectsTheBucket) {
  EXPECT_EQ(Send("PUT", "/", "", {}, "SK", "vhost.localhost:9000").status, 200);
  EXPECT_EQ(Send("PUT", "/k", "v", {}, "SK", "vhost.localhost:9000").status, 200);
  EXPECT_EQ(Send("GET", "/vhost/k").body, "v");
}

TEST_F(S3Test, AuthenticationFailures) {
  Reply wrong = Send("GET", "/", "", {}, "not-the-secret");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_NE(wrong.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos);
  Reply skewed = Send("GET", "/", "", {}, "SK", "127.0.0.1:9000", NowNanos() / 1000000000 - 3600);
  EXPECT_NE(skewed.body.find("<Code>RequestTimeTooSkewed</Code>"), std::string::npos);
}

TEST_F(S3Test, PayloadHashMismatchStoresNothing) {
  ASSERT_EQ(Send("PUT", "/bkt").status, 200);
  // Signed for "abc" but the body says "abd": the signature holds, the payload does not.
  http::Request req;
  ASSERT_TRUE(http::ParseRequestHead("PUT /bkt/k HTTP/1.1\r\nHost: h", http::Limits(), &req).ok());
  sigv4::RequestParts parts{"PUT", "/bkt/k", {}, {{"Host", "h"}, {"Content-Length", "3"}},
                            Sha256Hex("abc")};
  sigv4::SignRequest(&parts, "AK", "SK", "us-east-1", NowNanos() / 1000000000);
  req.headers = http::Headers();
  for (auto& [n, v] : parts.headers) req.headers.Add(n, v);
  StringSource src("abd");
  auto reader = http::MakeLengthBody(&src, 3);
  req.body = reader.get();
  http::Response resp;
  service_->Handle(req, resp);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(Send("GET", "/bkt/k").status, 404);
}

TEST_F(S3Test, ErrorsCarryCodeAndHeadHasNoBody) {
  Reply missing = Send("GET", "/nobucket/k");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("<Code>NoSuchBucket</Code>"), std::string::npos);
  ASSERT_EQ(Send("PUT", "/bkt").status, 200);
  Reply head = Send("HEAD", "/bkt/none");
  EXPECT_EQ(head.status, 404);
  EXPECT_TRUE(head.body.empty());
  Reply unsupported = Send("GET", "/bkt?policy");
  EXPECT_EQ(unsupported.status, 501);
  EXPECT_NE(unsupported.body.find("<Code>NotImplemented</Code>"), std::string::npos);
  EXPECT_EQ(Send("PUT", "/bkt/" + std::string(1025, 'k'), "x").status, 400);
  Reply big_meta = Send("PUT", "/bkt/m", "x", {{"x-amz-meta-big", std::string(2100, 'v')}});
  EXPECT_NE(big_meta.body.find("<Code>MetadataTooLarge</Code>"), std::string::npos);
}

TEST_F(S3Test, ConditionalGet) {
  ASSERT_EQ(Send("PUT", "/bkt").status, 200);
  ASSERT_EQ(Send("PUT", "/bkt/k", "v").status, 200);
  std::string etag = "\"" + Md5Hex("v") + "\"";
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-Match", etag}}).status, 200);
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-Match", "\"other\""}}).status, 412);
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-Modified-Since", FormatHttpDate(NowNanos() / 1000000000 + 60)}}).status, 304);
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 412);
  // If-Match true wins over If-Unmodified-Since false.
  EXPECT_EQ(Send("GET", "/bkt/k", "", {{"If-Match", etag}, {"If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 200);
}

}  // namespace
}  // namespace skyway::s3

namespace skyway::s3 {
namespace {

std::string DecodeAll(AwsChunkedReader* reader, Status* status) {
  std::string out;
  char buf[1000];
  for (;;) {
    auto n = reader->Read(buf, sizeof(buf));
    if (!n.ok()) {
      *status = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

// The example of the AWS S3 documentation, "Signature Calculation: Transfer Payload in Multiple
// Chunks": 66560 bytes of 'a' in chunks of 65536 and 1024, seed signature 4f232c43...
class SignedChunksTest : public ::testing::Test {
 protected:
  ChunkSigner Signer() {
    sigv4::Scope scope{"20130524", "us-east-1", "s3"};
    return ChunkSigner{sigv4::SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", scope),
                       "20130524T000000Z", scope.ToString(),
                       "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
  }
  std::string Body(std::string second_signature) {
    return "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
           std::string(65536, 'a') + "\r\n400;chunk-signature=" + second_signature + "\r\n" +
           std::string(1024, 'a') +
           "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
  }
};

TEST_F(SignedChunksTest, AwsExampleDecodes) {
  std::string body = Body("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  EXPECT_EQ(body.size(), 66824u);  // the example's Content-Length
  StringSource src(body);
  auto raw = http::MakeLengthBody(&src, body.size());
  AwsChunkedReader reader(raw.get(), Signer(), false);
  Status st;
  EXPECT_EQ(DecodeAll(&reader, &st), std::string(66560, 'a'));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(reader.finished());
}

TEST_F(SignedChunksTest, CorruptedChunkSignatureIsRejected) {
  std::string body = Body("1055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  StringSource src(body);
  auto raw = http::MakeLengthBody(&src, body.size());
  AwsChunkedReader reader(raw.get(), Signer(), false);
  Status st;
  DecodeAll(&reader, &st);
  EXPECT_EQ(st.reason(), "SignatureDoesNotMatch");
}

TEST(UnsignedTrailer, ReadsChunksAndTrailers) {
  std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  StringSource src(body);
  auto raw = http::MakeLengthBody(&src, body.size());
  AwsChunkedReader reader(raw.get(), std::nullopt, true);
  Status st;
  EXPECT_EQ(DecodeAll(&reader, &st), "hello world");
  EXPECT_TRUE(st.ok());
  ASSERT_EQ(reader.trailers().size(), 1u);
  EXPECT_EQ(reader.trailers()[0].first, "x-amz-checksum-crc32");
  for (std::string bad : {"5\r\nhelloX\r\n0\r\n\r\n", "z\r\n", "5\r\nhel", "5;foo=1\r\nhello\r\n0\r\n\r\n"}) {
    StringSource s2(bad);
    auto r2 = http::MakeLengthBody(&s2, bad.size());
    AwsChunkedReader bad_reader(r2.get(), std::nullopt, true);
    Status bad_st;
    DecodeAll(&bad_reader, &bad_st);
    EXPECT_FALSE(bad_st.ok()) << bad;
  }
}

}  // namespace
}  // namespace skyway::s3

namespace skyway::s3 {
namespace {

TEST_F(S3Test, HealthAndMetrics) {
  ASSERT_EQ(Send("PUT", "/bkt").status, 200);
  ASSERT_EQ(Send("PUT", "/bkt/k", "12345").status, 200);
  ASSERT_EQ(Send("GET", "/bkt/missing").status, 404);
  http::Request req;
  ASSERT_TRUE(http::ParseRequestHead("GET /_skyway/metrics HTTP/1.1\r\nHost: h", http::Limits(), &req).ok());
  http::Response resp;
  service_->Handle(req, resp);
  ASSERT_EQ(resp.status, 200);
  const std::string& text = resp.body[0].data;
  EXPECT_NE(text.find("skyway_s3_requests_total{operation=\"PutObject\",status=\"200\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("skyway_s3_requests_total{operation=\"GetObject\",status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(text.find("skyway_s3_received_bytes_total 5"), std::string::npos);
  EXPECT_NE(text.find("skyway_s3_request_duration_seconds_count{operation=\"CreateBucket\"} 1"), std::string::npos);
  http::Request health;
  ASSERT_TRUE(http::ParseRequestHead("GET /_skyway/health HTTP/1.1\r\nHost: h", http::Limits(), &health).ok());
  http::Response hresp;
  service_->Handle(health, hresp);
  EXPECT_EQ(hresp.status, 200);
  EXPECT_EQ(hresp.body[0].data, "ok\n");
}

}  // namespace
}  // namespace skyway::s3
