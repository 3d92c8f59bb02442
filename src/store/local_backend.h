// Private to store/: the local disk backend (RocksDB metadata, one data file per object).
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "store/meta_codec.h"
#include "store/store.h"

namespace skyway::store {

inline Status FromRocks(const rocksdb::Status& s) {
  return s.ok() ? Status::Ok() : Status(Code::kIOError, "", "rocksdb: " + s.ToString());
}

// Every metadata write is synced: an acknowledged change survives a crash.
inline rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

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
  Status SetObjectAttrs(const std::string& bucket, const std::string& key,
                        std::vector<std::pair<std::string, std::string>> attrs) override;

  Result<std::string> CreateUpload(const std::string& bucket, const std::string& key,
                                   std::vector<std::pair<std::string, std::string>> attrs) override;
  Result<UploadInfo> GetUpload(const std::string& bucket, const std::string& key,
                               const std::string& upload_id) override;
  Result<std::unique_ptr<ObjectWriter>> PutPart(const std::string& bucket, const std::string& key,
                                                const std::string& upload_id, int number) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id) override;
  Status AbortUpload(const std::string& bucket, const std::string& key,
                     const std::string& upload_id) override;
  Result<ObjectMeta> CompleteUpload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id, const std::vector<int>& parts,
                                    ObjectMeta meta) override;
  Result<std::vector<UploadInfo>> ListUploads(const std::string& bucket,
                                              const UploadListOptions& opts) override;

  std::string DataPath(const std::string& data_id) const;
  std::string DataDir(const std::string& data_id) const;

 private:
  explicit LocalBackend(std::string dir) : dir_(std::move(dir)) {}
  Status Init();
  Status SweepOrphans();
  Result<ObjectRecord> ReadRecord(const std::string& bucket, const std::string& key);
  Result<std::vector<PartRecord>> ReadParts(const std::string& upload_id);
  // A new data file and a writer whose Commit fsyncs it and then calls publish(data_id, meta).
  using Publish = std::function<Status(const std::string& data_id, ObjectMeta& meta)>;
  Result<std::unique_ptr<ObjectWriter>> NewWriter(Publish publish);
  // Publishes record under bucket/key and removes the data files of the object it replaces.
  Status CommitObject(const std::string& bucket, const std::string& key,
                      const ObjectRecord& record);
  Status CommitPart(const std::string& bucket, const std::string& key, const std::string& upload_id,
                    const PartRecord& part);
  Status DeleteUploadRecords(const std::string& bucket, const std::string& key,
                             const std::string& upload_id, const std::vector<PartRecord>& parts,
                             const ObjectRecord* publish);
  void RemoveDataFiles(const std::vector<std::string>& data_ids);
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
