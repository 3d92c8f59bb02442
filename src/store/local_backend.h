// Private to store/: the local disk backend (RocksDB metadata, one data file per object).
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "store/meta_codec.h"
#include "store/store.h"

namespace skyway::store {

class LocalBackend : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> Open(const std::string& dir);
  ~LocalBackend() override;

  Status CreateBucket(const std::string& bucket, const std::string& region) override;
  Status DeleteBucket(const std::string& bucket) override;
  Result<BucketInfo> GetBucket(const std::string& bucket) override;
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Result<std::unique_ptr<ObjectWriter>> PutObject(const std::string& bucket,
                                                  const std::string& key) override;
  Result<ObjectMeta> HeadObject(const std::string& bucket, const std::string& key) override;
  Result<ObjectData> OpenObject(const std::string& bucket, const std::string& key) override;
  Status DeleteObject(const std::string& bucket, const std::string& key) override;
  Result<ListResult> ListObjects(const std::string& bucket, const ListOptions& opts) override;

  // Used by the writer: publishes record under bucket/key and removes the replaced data file.
  Status CommitObject(const std::string& bucket, const std::string& key,
                      const ObjectRecord& record);
  std::string DataPath(const std::string& data_id) const;
  std::string DataDir(const std::string& data_id) const;

 private:
  explicit LocalBackend(std::string dir) : dir_(std::move(dir)) {}
  Status Init();
  Status SweepOrphans();
  Result<ObjectRecord> ReadRecord(const std::string& bucket, const std::string& key);
  Status RemoveDataFile(const std::string& data_id);
  std::mutex& KeyLock(const std::string& bucket, const std::string& key);

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  // Bucket create/delete take it exclusively; object commits share it, so an object is never
  // committed into a bucket being deleted.
  std::shared_mutex bucket_mu_;
  // Serialises read-old-record / write-new-record per key, so the replaced file is known.
  std::array<std::mutex, 64> key_mu_;
};

}  // namespace skyway::store
