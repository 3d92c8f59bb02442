// Vectors from the AWS S3 documentation, "Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk" (examplebucket, 20130524).
#include <gtest/gtest.h>

#include "sigv4/sigv4.h"

namespace skyway::sigv4 {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const Scope kScope{"20130524", "us-east-1", "s3"};

std::string SignatureOf(const RequestParts& r, const std::vector<std::string>& signed_headers) {
  return Sign(SigningKey(kSecret, kScope),
              StringToSign("20130524T000000Z", kScope, CanonicalRequest(r, signed_headers)));
}

TEST(SigV4, AwsGetObjectExample) {
  RequestParts r{"GET", "/test.txt", {},
                 {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"Range", "bytes=0-9"},
                  {"x-amz-content-sha256", kEmptySha256},
                  {"x-amz-date", "20130524T000000Z"}},
                 kEmptySha256};
  EXPECT_EQ(SignatureOf(r, {"host", "range", "x-amz-content-sha256", "x-amz-date"}),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, AwsPutObjectExample) {
  std::string payload = "Welcome to Amazon S3.";
  RequestParts r{"PUT", "/test$file.text", {},
                 {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                  {"x-amz-date", "20130524T000000Z"},
                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                  {"x-amz-content-sha256", Sha256Hex(payload)}},
                 Sha256Hex(payload)};
  EXPECT_EQ(SignatureOf(r, {"date", "host", "x-amz-content-sha256", "x-amz-date",
                            "x-amz-storage-class"}),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, AwsListObjectsExample) {
  RequestParts r{"GET", "/", {{"max-keys", "2"}, {"prefix", "J"}},
                 {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"x-amz-content-sha256", kEmptySha256},
                  {"x-amz-date", "20130524T000000Z"}},
                 kEmptySha256};
  EXPECT_EQ(SignatureOf(r, {"host", "x-amz-content-sha256", "x-amz-date"}),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, CanonicalPieces) {
  EXPECT_EQ(CanonicalUri("/b/a key+é"), "/b/a%20key%2B%C3%A9");
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"acl", ""}}), "a=x%20y&acl=&b=2");
  EXPECT_EQ(CanonicalQuery({{"X-Amz-Signature", "s"}, {"a", "1"}}, "X-Amz-Signature"), "a=1");
}

TEST(SigV4, ParseAuthorization) {
  auto a = ParseAuthorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature="
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->access_key, "AKID");
  EXPECT_EQ(a->scope.region, "us-east-1");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  for (const char* bad : {"", "AWS4-HMAC-SHA256", "AWS AKID:sig",
                          "AWS4-HMAC-SHA256 Credential=AKID/2013/us/s3/aws4_request, "
                          "SignedHeaders=host, Signature=00",
                          "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
                          "AWS4-HMAC-SHA256 Credential=A/20130524/r/s3/aws4_request,Bogus=1"}) {
    EXPECT_FALSE(ParseAuthorization(bad).ok()) << bad;
  }
}

TEST(SigV4, SignRequestVerifiesWithTheSameComputation) {
  RequestParts r{"PUT", "/bucket/key", {}, {{"Host", "127.0.0.1:9000"}}, kUnsignedPayload};
  SignRequest(&r, "AK", "SK", "us-east-1", 1369353600);
  std::string auth;
  for (const auto& [n, v] : r.headers) {
    if (n == "Authorization") auth = v;
  }
  auto parsed = ParseAuthorization(auth);
  ASSERT_TRUE(parsed.ok());
  RequestParts check = r;
  Scope scope = parsed->scope;
  EXPECT_EQ(Sign(SigningKey("SK", scope),
                 StringToSign("20130524T000000Z", scope, CanonicalRequest(check, parsed->signed_headers))),
            parsed->signature);
  EXPECT_NE(Sign(SigningKey("other", scope),
                 StringToSign("20130524T000000Z", scope, CanonicalRequest(check, parsed->signed_headers))),
            parsed->signature);
}

TEST(SigV4, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace skyway::sigv4
