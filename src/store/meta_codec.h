// Private to store/: the on-disk encoding of metadata records and the key layout in RocksDB.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace skyway::store {

// Key layout: "b/<bucket>" -> BucketInfo, "o/<bucket>/<key>" -> ObjectRecord. Bucket names
// cannot hold '/', so an object key range never crosses buckets.
std::string BucketKey(std::string_view bucket);
std::string ObjectKeyPrefix(std::string_view bucket);
std::string ObjectKey(std::string_view bucket, std::string_view key);
// The smallest string greater than every string that starts with prefix ("" if none).
std::string PrefixSuccessor(std::string prefix);

// What RocksDB holds for an object: its metadata and the data file that holds its bytes.
struct ObjectRecord {
  ObjectMeta meta;
  std::string data_id;
};

std::string EncodeBucket(const BucketInfo& info);
Result<BucketInfo> DecodeBucket(std::string_view data);
std::string EncodeObject(const ObjectRecord& record);
Result<ObjectRecord> DecodeObject(std::string_view data);

}  // namespace skyway::store
