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
inline constexpr char kNoSuchUpload[] = "NoSuchUpload";
inline constexpr char kInvalidPart[] = "InvalidPart";

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
  // For an object assembled from parts: the size of each part, in order (empty otherwise).
  std::vector<uint64_t> part_sizes;
};

struct PartInfo {
  int number = 0;
  uint64_t size = 0;
  std::string etag;
  int64_t mtime_nanos = 0;
  std::vector<std::pair<std::string, std::string>> attrs;  // the part writer's meta.attrs
};

struct UploadInfo {
  std::string key;
  std::string upload_id;
  int64_t initiated_nanos = 0;
  std::vector<std::pair<std::string, std::string>> attrs;  // given at creation
};

struct UploadListOptions {
  std::string prefix;
  std::string key_marker;        // uploads of keys after this (or of this key, after the id)
  std::string upload_id_marker;
  size_t max_uploads = 1000;
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
  // Replaces the attrs of an existing object without touching its bytes. Errors: kNoSuchKey.
  virtual Status SetObjectAttrs(const std::string& bucket, const std::string& key,
                                std::vector<std::pair<std::string, std::string>> attrs) = 0;

  // ---- multipart uploads: an object assembled from separately written parts. Completing one
  // writes metadata only; the part files become the object's files.

  // Returns the new upload id. Errors: kNoSuchBucket.
  virtual Result<std::string> CreateUpload(const std::string& bucket, const std::string& key,
                                           std::vector<std::pair<std::string, std::string>> attrs) = 0;
  // Errors: kNoSuchUpload.
  virtual Result<UploadInfo> GetUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id) = 0;
  // A writer whose Commit records (or replaces) part `number`; meta.etag and meta.attrs are
  // kept as the part's.
  virtual Result<std::unique_ptr<ObjectWriter>> PutPart(const std::string& bucket,
                                                        const std::string& key,
                                                        const std::string& upload_id,
                                                        int number) = 0;
  virtual Result<std::vector<PartInfo>> ListParts(const std::string& bucket, const std::string& key,
                                                  const std::string& upload_id) = 0;
  // Removes the upload and its parts. Errors: kNoSuchUpload.
  virtual Status AbortUpload(const std::string& bucket, const std::string& key,
                             const std::string& upload_id) = 0;
  // Publishes the object made of the named parts in the given order, with meta's etag and the
  // upload's attrs followed by meta's; removes the upload and its unused parts. Errors: kNoSuchUpload,
  // kInvalidPart (a named part does not exist).
  virtual Result<ObjectMeta> CompleteUpload(const std::string& bucket, const std::string& key,
                                            const std::string& upload_id,
                                            const std::vector<int>& parts, ObjectMeta meta) = 0;
  // Uploads in progress, ordered by key then upload id.
  virtual Result<std::vector<UploadInfo>> ListUploads(const std::string& bucket,
                                                      const UploadListOptions& opts) = 0;
};

// Opens (creating if needed) the local backend under dir: metadata in RocksDB, data in files.
// Sweeps files left by interrupted writes before returning.
Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& dir);

}  // namespace skyway::store
