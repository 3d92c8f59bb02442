// Authorization headers and canonical requests from arbitrary bytes.
#include "sigv4/sigv4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto auth = skyway::sigv4::ParseAuthorization(input);
  if (auth.ok()) {
    skyway::sigv4::RequestParts parts{"GET", std::string(input), {{std::string(input), "v"}},
                                      {{"Host", std::string(input)}}, "UNSIGNED-PAYLOAD"};
    std::string canonical = skyway::sigv4::CanonicalRequest(parts, auth->signed_headers);
    (void)skyway::sigv4::StringToSign("20130524T000000Z", auth->scope, canonical);
  }
  return 0;
}
