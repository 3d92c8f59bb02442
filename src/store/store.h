// store: buckets and objects on a backend, with no knowledge of any protocol.
//
// Invariant (ObjectVisibleOnlyAfterCommit): an object's bytes are fsync'd to their own file before
// its metadata is committed, and a reader finds an object only through committed metadata. A
// crash at any point leaves the old object or the new one, never a mix; files no committed
// metadata names are swept when the backend opens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/common.h"

namespace skyway::store {

// Stable reasons carried by the statuses this module returns.
inline constexpr char kNoSuchBucket[] = "NoSuchBucket";
inline constexpr char kNoSuchKey[] = "NoSuchKey";
inline constexpr char kBucketNotEmpty[] = "BucketNotEmpty";
inline constexpr char kBucketExists[] = "BucketAlreadyOwnedByYou";

struct BucketInfo {
  std::string name;
  int64_t created_nanos = 0;
  std::string region;
};

struct ObjectMeta {
  uint64_t size = 0;
  std::string etag;         // chosen by the protocol layer (S3: hex MD5, without quotes)
  int64_t mtime_nanos = 0;
  // Attributes kept verbatim for the protocol layer (content type, user metadata, ...), in
  // the order given.
  std::vector<std::pair<std::string, std::string>> attrs;
};

// A byte range of an open file; an object is one or more extents read in order.
struct Extent {
  std::shared_ptr<UniqueFd> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ObjectData {
  ObjectMeta meta;
  std::vector<Extent> extents;  // their lengths add up to meta.size
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;
  std::string start_after;  // only keys and common prefixes greater than this
  size_t max_keys = 1000;
};

struct ListResult {
  std::vector<std::pair<std::string, ObjectMeta>> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string last;  // the greatest key or common prefix returned; resume after it
};

// Streams the bytes of a new object. Dropping it without Commit discards everything.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(const void* data, size_t n) = 0;
  virtual uint64_t bytes_written() const = 0;
  // Makes the object visible, replacing any object of the same key. Sets meta.size to the bytes
  // written and meta.mtime_nanos to now; keeps the caller's etag and attrs. Errors:
  // kNoSuchBucket if the bucket went away, kIOError. Call at most once.
  virtual Result<ObjectMeta> Commit(ObjectMeta meta) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Errors: kBucketExists.
  virtual Status CreateBucket(const std::string& bucket, const std::string& region) = 0;
  // Errors: kNoSuchBucket, kBucketNotEmpty.
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  virtual Result<BucketInfo> GetBucket(const std::string& bucket) = 0;
  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;

  // Errors: kNoSuchBucket.
  virtual Result<std::unique_ptr<ObjectWriter>> PutObject(const std::string& bucket,
                                                          const std::string& key) = 0;
  // Errors: kNoSuchBucket, kNoSuchKey.
  virtual Result<ObjectMeta> HeadObject(const std::string& bucket, const std::string& key) = 0;
  // Opens the object's files; they stay readable even if the object is replaced meanwhile.
  virtual Result<ObjectData> OpenObject(const std::string& bucket, const std::string& key) = 0;
  // Deleting a missing key succeeds. Errors: kNoSuchBucket.
  virtual Status DeleteObject(const std::string& bucket, const std::string& key) = 0;
  // Keys in byte order, folding keys that share prefix+...+delimiter into common prefixes.
  virtual Result<ListResult> ListObjects(const std::string& bucket, const ListOptions& opts) = 0;
};

// Opens (creating if needed) the local backend under dir: metadata in RocksDB, data in files.
// Sweeps files left by interrupted writes before returning.
Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& dir);

}  // namespace skyway::store
