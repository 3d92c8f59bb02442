// A ByteSource over the fuzzer's input, shared by the fuzz targets that read bodies.
#pragma once

#include <algorithm>
#include <cstring>

#include "http/http.h"

class BytesSource : public skyway::http::ByteSource {
 public:
  BytesSource(const char* data, size_t n) : data_(data), n_(n) {}
  skyway::Result<size_t> ReadSome(char* buf, size_t n) override {
    n = std::min(n, n_ - pos_);
    std::memcpy(buf, data_ + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const char* data_;
  size_t n_;
  size_t pos_ = 0;
};
