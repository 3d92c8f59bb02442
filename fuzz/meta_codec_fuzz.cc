// Metadata records as read back from disk: a corrupt record is an error, never a crash.
#include "store/meta_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto object = skyway::store::DecodeObject(input);
  if (object.ok()) {
    // What decodes must encode back to the same bytes.
    if (skyway::store::EncodeObject(*object) != input) __builtin_trap();
  }
  (void)skyway::store::DecodeBucket(input);
  return 0;
}
