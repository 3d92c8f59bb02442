// Private to store/: the on-disk encoding of metadata records and the key layout in RocksDB.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace skyway::store {

// Key layout: "b/<bucket>" -> BucketInfo, "o/<bucket>/<key>" -> ObjectRecord,
// "u/<bucket>/<key>\0<upload>" -> UploadRecord, "p/<upload>/<part, 5 digits>" -> PartRecord.
// Bucket names cannot hold '/', so a key range never crosses buckets.
std::string BucketKey(std::string_view bucket);
std::string ObjectKeyPrefix(std::string_view bucket);
std::string ObjectKey(std::string_view bucket, std::string_view key);
// The smallest string greater than every string that starts with prefix ("" if none).
std::string PrefixSuccessor(std::string prefix);
std::string UploadKeyPrefix(std::string_view bucket);
std::string UploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id);
std::string PartKeyPrefix(std::string_view upload_id);
std::string PartKey(std::string_view upload_id, int number);

// A data file and how many of its bytes belong to the object.
struct DataRef {
  std::string id;
  uint64_t size = 0;
};

// What RocksDB holds for an object: its metadata and the data files holding its bytes, in order.
struct ObjectRecord {
  ObjectMeta meta;
  std::vector<DataRef> data;
};

struct UploadRecord {
  int64_t initiated_nanos = 0;
  std::vector<std::pair<std::string, std::string>> attrs;
};

struct PartRecord {
  PartInfo info;
  std::string data_id;
};

std::string EncodeBucket(const BucketInfo& info);
Result<BucketInfo> DecodeBucket(std::string_view data);
std::string EncodeObject(const ObjectRecord& record);
Result<ObjectRecord> DecodeObject(std::string_view data);
std::string EncodeUpload(const UploadRecord& record);
Result<UploadRecord> DecodeUpload(std::string_view data);
std::string EncodePart(const PartRecord& record);
Result<PartRecord> DecodePart(std::string_view data);

}  // namespace skyway::store
