// Request heads and chunked bodies from arbitrary bytes: no crash, no overread, no hang.
#include "http/http.h"
#include "bytes_source.h"


extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t end = input.find("\r\n\r\n");
  skyway::http::Request req;
  (void)skyway::http::ParseRequestHead(input.substr(0, end), skyway::http::Limits(), &req);
  if (end == std::string_view::npos) return 0;
  BytesSource source(input.data() + end + 4, input.size() - end - 4);
  auto body = skyway::http::MakeChunkedBody(&source);
  char buf[257];
  for (int i = 0; i < 100000; i++) {
    auto n = body->Read(buf, sizeof(buf));
    if (!n.ok() || *n == 0) break;
  }
  return 0;
}
