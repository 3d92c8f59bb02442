// hnswlib's configuration for this project; include it right before <hnswlib/hnswlib.h>.
// hnswlib 0.6.2's searchBaseLayer (used by addPoint) prefetches the entry one past the end of an
// upper-layer link list, a 4-byte read past its malloc that AddressSanitizer reports. Under ASan
// (gcc's __SANITIZE_ADDRESS__, clang's __has_feature) hnswlib is built without its SSE code,
// which is where those prefetches live.
#pragma once

#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
