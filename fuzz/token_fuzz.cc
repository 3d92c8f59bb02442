// x-amz-rdma-token values from arbitrary bytes: parsed or refused, and what parses encodes back.
#include "directpath/directpath.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto token = skyway::directpath::ParseToken(input);
  if (token.ok()) {
    auto again = skyway::directpath::ParseToken(token->Encode());
    if (!again.ok() || again->region != token->region || again->offset != token->offset ||
        again->length != token->length || again->key != token->key) {
      __builtin_trap();
    }
  }
  return 0;
}
