// S3 XML request bodies and tag sets from arbitrary bytes.
#include "s3/internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)skyway::s3::ParseCreateBucketConfiguration(input);
  (void)skyway::s3::ParseCompleteMultipartUpload(input);
  (void)skyway::s3::ParseDeleteObjects(input);
  (void)skyway::s3::ParseTaggingXml(input);
  (void)skyway::s3::ParseTagQuery(input);
  (void)skyway::s3::ValidateBucketName(input);
  return 0;
}
