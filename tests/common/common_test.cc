#include <gtest/gtest.h>

#include "common/common.h"

namespace skyway {
namespace {

TEST(Hash, KnownVectors) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("hello world"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hash, IncrementalEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  Md5 md5;
  Sha256 sha;
  for (size_t i = 0; i < data.size(); i += 4093) {
    size_t n = std::min<size_t>(4093, data.size() - i);
    md5.Update(data.data() + i, n);
    sha.Update(data.data() + i, n);
  }
  EXPECT_EQ(md5.FinalHex(), Md5Hex(data));
  EXPECT_EQ(sha.FinalHex(), Sha256Hex(data));
}

TEST(Base64, RoundTripAndRejects) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("a$c=").has_value());
}

TEST(Url, EncodeDecode) {
  EXPECT_EQ(UrlEncode("a b/c+d~", true), "a%20b/c%2Bd~");
  EXPECT_EQ(UrlEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(*UrlDecode("a%20b%2fc"), "a b/c");
  EXPECT_FALSE(UrlDecode("%").has_value());
  EXPECT_FALSE(UrlDecode("%2").has_value());
  EXPECT_FALSE(UrlDecode("%zz").has_value());
  std::string all;
  for (int c = 0; c < 256; c++) all.push_back(static_cast<char>(c));
  EXPECT_EQ(*UrlDecode(UrlEncode(all, false)), all);
}

TEST(Numbers, ParseUint64) {
  EXPECT_EQ(*ParseUint64("0"), 0u);
  EXPECT_EQ(*ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint64("18446744073709551616").has_value());
  EXPECT_FALSE(ParseUint64("").has_value());
  EXPECT_FALSE(ParseUint64("-1").has_value());
  EXPECT_FALSE(ParseUint64(" 1").has_value());
}

TEST(Time, FormatsAndParses) {
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatAmzDate(1369353600), "20130524T000000Z");
  EXPECT_EQ(FormatIso8601Millis(1369353600123000000), "2013-05-24T00:00:00.123Z");
  EXPECT_EQ(*ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(*ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(*ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(*ParseHttpDate("20130524T000000Z"), 1369353600);
  EXPECT_FALSE(ParseHttpDate("yesterday").has_value());
}

TEST(StatusTest, CarriesCodeReasonMessage) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  Status s(Code::kNotFound, "NoSuchKey", "gone");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.reason(), "NoSuchKey");
  EXPECT_EQ(s.ToString(), "NoSuchKey: gone");
  Result<int> r = Status::Invalid("bad");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bad");
  Result<int> v = 7;
  EXPECT_EQ(*v, 7);
}

}  // namespace
}  // namespace skyway

namespace skyway {
namespace {

std::string ChecksumOf(const char* algorithm, std::string_view data, size_t step = 0) {
  auto c = Checksum::Make(algorithm);
  if (step == 0) step = data.size() + 1;
  for (size_t i = 0; i < data.size(); i += step) c->Update(data.data() + i, std::min(step, data.size() - i));
  return HexEncode(*Base64Decode(c->FinalBase64()));
}

// The standard check values: each CRC of "123456789".
TEST(Checksum, CheckValues) {
  EXPECT_EQ(ChecksumOf("crc32", "123456789"), "cbf43926");
  EXPECT_EQ(ChecksumOf("CRC32C", "123456789"), "e3069283");
  EXPECT_EQ(ChecksumOf("crc64nvme", "123456789"), "ae8b14860a799888");
  EXPECT_EQ(ChecksumOf("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(ChecksumOf("sha256", "abc"), Sha256Hex("abc"));
  EXPECT_EQ(Checksum::Make("md4"), nullptr);
}

TEST(Checksum, IncrementalEqualsOneShot) {
  std::string data(100003, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 31 + 7);
  for (const char* a : {"crc32", "crc32c", "crc64nvme", "sha1", "sha256"}) {
    EXPECT_EQ(ChecksumOf(a, data, 13), ChecksumOf(a, data)) << a;
  }
}

}  // namespace
}  // namespace skyway
