// Multipart uploads. Each part is a data file of its own with a part record; completion writes
// one object record naming those files in order, and deletes the upload's records, in one
// synced batch. No byte is copied.
#include <rocksdb/write_batch.h>

#include <map>

#include "store/local_backend.h"

namespace skyway::store {
namespace {

Status NoSuchUpload(const std::string& upload_id) {
  return Status(Code::kNotFound, kNoSuchUpload, "no such upload: " + upload_id);
}

}  // namespace

Result<std::string> LocalBackend::CreateUpload(
    const std::string& bucket, const std::string& key,
    std::vector<std::pair<std::string, std::string>> attrs) {
  std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
  RETURN_IF_ERROR(GetBucket(bucket).status());
  std::string upload_id = HexEncode(RandomBytes(16));
  UploadRecord record{NowNanos(), std::move(attrs)};
  RETURN_IF_ERROR(FromRocks(
      db_->Put(SyncWrite(), UploadKey(bucket, key, upload_id), EncodeUpload(record))));
  return upload_id;
}

Result<UploadInfo> LocalBackend::GetUpload(const std::string& bucket, const std::string& key,
                                           const std::string& upload_id) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), UploadKey(bucket, key, upload_id), &value);
  if (s.IsNotFound()) {
    RETURN_IF_ERROR(GetBucket(bucket).status());
    return NoSuchUpload(upload_id);
  }
  RETURN_IF_ERROR(FromRocks(s));
  ASSIGN_OR_RETURN(UploadRecord record, DecodeUpload(value));
  return UploadInfo{key, upload_id, record.initiated_nanos, std::move(record.attrs)};
}

Result<std::unique_ptr<ObjectWriter>> LocalBackend::PutPart(const std::string& bucket,
                                                            const std::string& key,
                                                            const std::string& upload_id,
                                                            int number) {
  RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  return NewWriter([this, bucket, key, upload_id, number](const std::string& data_id, ObjectMeta& meta) {
    PartRecord part{PartInfo{number, meta.size, meta.etag, meta.mtime_nanos, meta.attrs}, data_id};
    return CommitPart(bucket, key, upload_id, part);
  });
}

Status LocalBackend::CommitPart(const std::string& bucket, const std::string& key,
                                const std::string& upload_id, const PartRecord& part) {
  std::string replaced;
  {
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    // The upload may have been completed or aborted while the part was being written.
    RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
    std::string old;
    auto s = db_->Get(rocksdb::ReadOptions(), PartKey(upload_id, part.info.number), &old);
    if (s.ok()) {
      ASSIGN_OR_RETURN(PartRecord previous, DecodePart(old));
      replaced = previous.data_id;
    } else if (!s.IsNotFound()) {
      return FromRocks(s);
    }
    RETURN_IF_ERROR(FromRocks(
        db_->Put(SyncWrite(), PartKey(upload_id, part.info.number), EncodePart(part))));
  }
  if (!replaced.empty()) RemoveDataFiles({replaced});
  return Status::Ok();
}

Result<std::vector<PartRecord>> LocalBackend::ReadParts(const std::string& upload_id) {
  std::vector<PartRecord> parts;
  std::string prefix = PartKeyPrefix(upload_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(PartRecord part, DecodePart(it->value().ToStringView()));
    parts.push_back(std::move(part));
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return parts;
}

Result<std::vector<PartInfo>> LocalBackend::ListParts(const std::string& bucket,
                                                      const std::string& key,
                                                      const std::string& upload_id) {
  RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  ASSIGN_OR_RETURN(auto parts, ReadParts(upload_id));
  std::vector<PartInfo> out;
  for (auto& p : parts) out.push_back(std::move(p.info));
  return out;
}

// Deletes the upload record and its part records, publishing `publish` (if any) in the same
// synced batch.
Status LocalBackend::DeleteUploadRecords(const std::string& bucket, const std::string& key,
                                         const std::string& upload_id,
                                         const std::vector<PartRecord>& parts,
                                         const ObjectRecord* publish) {
  rocksdb::WriteBatch batch;
  batch.Delete(UploadKey(bucket, key, upload_id));
  for (const auto& p : parts) batch.Delete(PartKey(upload_id, p.info.number));
  if (publish) batch.Put(ObjectKey(bucket, key), EncodeObject(*publish));
  return FromRocks(db_->Write(SyncWrite(), &batch));
}

Status LocalBackend::AbortUpload(const std::string& bucket, const std::string& key,
                                 const std::string& upload_id) {
  std::vector<std::string> files;
  {
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
    ASSIGN_OR_RETURN(auto parts, ReadParts(upload_id));
    RETURN_IF_ERROR(DeleteUploadRecords(bucket, key, upload_id, parts, nullptr));
    for (const auto& p : parts) files.push_back(p.data_id);
  }
  RemoveDataFiles(files);
  return Status::Ok();
}

Result<ObjectMeta> LocalBackend::CompleteUpload(const std::string& bucket, const std::string& key,
                                                const std::string& upload_id,
                                                const std::vector<int>& numbers, ObjectMeta meta) {
  std::vector<std::string> unused;
  {
    std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    ASSIGN_OR_RETURN(UploadInfo upload, GetUpload(bucket, key, upload_id));
    ASSIGN_OR_RETURN(auto parts, ReadParts(upload_id));
    std::map<int, const PartRecord*> by_number;
    for (const auto& p : parts) by_number[p.info.number] = &p;
    ObjectRecord record;
    record.meta = std::move(meta);
    record.meta.attrs.insert(record.meta.attrs.begin(), upload.attrs.begin(), upload.attrs.end());
    record.meta.size = 0;
    record.meta.mtime_nanos = NowNanos();
    for (int n : numbers) {
      auto it = by_number.find(n);
      if (it == by_number.end()) {
        return Status(Code::kNotFound, kInvalidPart, "part " + std::to_string(n) + " was not uploaded");
      }
      record.data.push_back(DataRef{it->second->data_id, it->second->info.size});
      record.meta.part_sizes.push_back(it->second->info.size);
      record.meta.size += it->second->info.size;
      by_number.erase(it);  // a part named twice is rejected by the lookup above
    }
    for (const auto& [n, p] : by_number) unused.push_back(p->data_id);
    auto old = ReadRecord(bucket, key);
    if (old.ok()) {
      for (const auto& ref : old->data) unused.push_back(ref.id);
    }
    RETURN_IF_ERROR(DeleteUploadRecords(bucket, key, upload_id, parts, &record));
    meta = record.meta;
  }
  RemoveDataFiles(unused);
  return meta;
}

Result<std::vector<UploadInfo>> LocalBackend::ListUploads(const std::string& bucket,
                                                          const UploadListOptions& opts) {
  RETURN_IF_ERROR(GetBucket(bucket).status());
  std::vector<UploadInfo> out;
  const std::string base = UploadKeyPrefix(bucket);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(base + opts.prefix); it->Valid() && it->key().starts_with(base + opts.prefix) &&
                                     out.size() < opts.max_uploads;
       it->Next()) {
    std::string rest = it->key().ToString().substr(base.size());
    size_t nul = rest.rfind('\0');
    if (nul == std::string::npos) continue;
    std::string key = rest.substr(0, nul), id = rest.substr(nul + 1);
    if (!opts.key_marker.empty() &&
        (key < opts.key_marker || (key == opts.key_marker && (opts.upload_id_marker.empty() ||
                                                              id <= opts.upload_id_marker)))) {
      continue;
    }
    ASSIGN_OR_RETURN(UploadRecord record, DecodeUpload(it->value().ToStringView()));
    out.push_back(UploadInfo{key, id, record.initiated_nanos, std::move(record.attrs)});
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

}  // namespace skyway::store
