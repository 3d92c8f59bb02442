// aws-chunked bodies from arbitrary bytes, with and without chunk signatures and trailers.
#include "s3/internal.h"
#include "bytes_source.h"


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  int mode = data[0] % 3;
  BytesSource source(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto raw = skyway::http::MakeLengthBody(&source, size - 1);
  std::optional<skyway::s3::ChunkSigner> signer;
  if (mode == 1) signer = skyway::s3::ChunkSigner{std::string(32, 'k'), "20130524T000000Z", "s", "p"};
  skyway::s3::AwsChunkedReader reader(raw.get(), signer, mode != 0);
  char buf[333];
  for (int i = 0; i < 100000; i++) {
    auto n = reader.Read(buf, sizeof(buf));
    if (!n.ok() || *n == 0) break;
  }
  return 0;
}
