#include "store/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/write_batch.h>

#include <cerrno>
#include <functional>
#include <unordered_set>

namespace skyway::store {
namespace {

Status NoSuchBucket(const std::string& bucket) {
  return Status(Code::kNotFound, kNoSuchBucket, "bucket does not exist: " + bucket);
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir " + path, errno);
  }
  return Status::Ok();
}

// Writes a new data file; Commit fsyncs it (and its directory entry) before handing it to the
// publish step, which makes it visible. Dropped without a commit, the file is removed.
class LocalObjectWriter : public ObjectWriter {
 public:
  using Publish = std::function<Status(const std::string&, ObjectMeta&)>;
  LocalObjectWriter(std::string path, std::string dir, std::string data_id, UniqueFd fd,
                    Publish publish)
      : path_(std::move(path)),
        dir_(std::move(dir)),
        data_id_(std::move(data_id)),
        fd_(std::move(fd)),
        publish_(std::move(publish)) {}

  ~LocalObjectWriter() override {
    if (!committed_) {
      fd_ = UniqueFd();
      ::unlink(path_.c_str());
    }
  }

  Status Write(const void* data, size_t n) override {
    RETURN_IF_ERROR(WriteAll(fd_.get(), data, n));
    written_ += n;
    return Status::Ok();
  }

  uint64_t bytes_written() const override { return written_; }

  Result<ObjectMeta> Commit(ObjectMeta meta) override {
    if (::fsync(fd_.get()) != 0) return Status::FromErrno("fsync object data", errno);
    RETURN_IF_ERROR(FsyncDir(dir_));
    meta.size = written_;
    meta.mtime_nanos = NowNanos();
    RETURN_IF_ERROR(publish_(data_id_, meta));
    committed_ = true;
    return meta;
  }

 private:
  std::string path_, dir_, data_id_;
  UniqueFd fd_;
  Publish publish_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& dir) {
  return LocalBackend::Open(dir);
}

Result<std::unique_ptr<Backend>> LocalBackend::Open(const std::string& dir) {
  std::unique_ptr<LocalBackend> backend(new LocalBackend(dir));
  RETURN_IF_ERROR(backend->Init());
  RETURN_IF_ERROR(backend->SweepOrphans());
  return std::unique_ptr<Backend>(std::move(backend));
}

LocalBackend::~LocalBackend() = default;

Status LocalBackend::Init() {
  RETURN_IF_ERROR(MakeDir(dir_));
  RETURN_IF_ERROR(MakeDir(dir_ + "/objects"));
  for (int i = 0; i < 256; i++) {
    RETURN_IF_ERROR(MakeDir(DataDir(HexEncode(std::string(1, static_cast<char>(i))))));
  }
  RETURN_IF_ERROR(FsyncDir(dir_ + "/objects"));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.keep_log_file_num = 4;
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir_ + "/meta", &db)));
  db_.reset(db);
  return Status::Ok();
}

std::string LocalBackend::DataDir(const std::string& data_id) const {
  return dir_ + "/objects/" + data_id.substr(0, 2);
}

std::string LocalBackend::DataPath(const std::string& data_id) const {
  return DataDir(data_id) + "/" + data_id;
}

// Every data file that no committed record names is garbage from an interrupted write or from
// a crash between a replace and its unlink. Runs before the server accepts requests.
Status LocalBackend::SweepOrphans() {
  std::unordered_set<std::string> live;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("o/"); it->Valid() && it->key().starts_with("o/"); it->Next()) {
    ASSIGN_OR_RETURN(ObjectRecord r, DecodeObject(it->value().ToStringView()));
    for (const auto& ref : r.data) live.insert(ref.id);
  }
  for (it->Seek("p/"); it->Valid() && it->key().starts_with("p/"); it->Next()) {
    ASSIGN_OR_RETURN(PartRecord r, DecodePart(it->value().ToStringView()));
    live.insert(r.data_id);
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  size_t swept = 0;
  for (int i = 0; i < 256; i++) {
    std::string sub = DataDir(HexEncode(std::string(1, static_cast<char>(i))));
    DIR* d = ::opendir(sub.c_str());
    if (d == nullptr) return Status::FromErrno("opendir " + sub, errno);
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || live.count(name)) continue;
      if (::unlink((sub + "/" + name).c_str()) == 0) swept++;
    }
    ::closedir(d);
  }
  if (swept > 0) LogInfo("store: swept " + std::to_string(swept) + " orphan data files");
  return Status::Ok();
}

std::mutex& LocalBackend::KeyLock(const std::string& bucket, const std::string& key) {
  size_t h = std::hash<std::string>()(bucket) * 31 + std::hash<std::string>()(key);
  return key_mu_[h % key_mu_.size()];
}

Status LocalBackend::CreateBucket(const std::string& bucket, const std::string& region) {
  std::unique_lock<std::shared_mutex> lock(bucket_mu_);
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), BucketKey(bucket), &value);
  if (s.ok()) return Status(Code::kAlreadyExists, kBucketExists, "bucket exists: " + bucket);
  if (!s.IsNotFound()) return FromRocks(s);
  BucketInfo info{bucket, NowNanos(), region};
  return FromRocks(db_->Put(SyncWrite(), BucketKey(bucket), EncodeBucket(info)));
}

Status LocalBackend::DeleteBucket(const std::string& bucket) {
  std::unique_lock<std::shared_mutex> lock(bucket_mu_);
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), BucketKey(bucket), &value);
  if (s.IsNotFound()) return NoSuchBucket(bucket);
  RETURN_IF_ERROR(FromRocks(s));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = ObjectKeyPrefix(bucket);
  it->Seek(prefix);
  if (it->Valid() && it->key().starts_with(prefix)) {
    return Status(Code::kFailedPrecondition, kBucketNotEmpty, "bucket is not empty: " + bucket);
  }
  // Uploads in progress go with the bucket, in the same batch.
  rocksdb::WriteBatch batch;
  std::vector<std::string> part_files;
  std::string uploads = UploadKeyPrefix(bucket);
  for (it->Seek(uploads); it->Valid() && it->key().starts_with(uploads); it->Next()) {
    std::string upload_id = it->key().ToString().substr(it->key().ToString().rfind('\0') + 1);
    ASSIGN_OR_RETURN(auto parts, ReadParts(upload_id));
    for (const auto& p : parts) {
      batch.Delete(PartKey(upload_id, p.info.number));
      part_files.push_back(p.data_id);
    }
    batch.Delete(it->key());
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  batch.Delete(BucketKey(bucket));
  RETURN_IF_ERROR(FromRocks(db_->Write(SyncWrite(), &batch)));
  RemoveDataFiles(part_files);
  return Status::Ok();
}

Result<BucketInfo> LocalBackend::GetBucket(const std::string& bucket) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), BucketKey(bucket), &value);
  if (s.IsNotFound()) return NoSuchBucket(bucket);
  RETURN_IF_ERROR(FromRocks(s));
  return DecodeBucket(value);
}

Result<std::vector<BucketInfo>> LocalBackend::ListBuckets() {
  std::vector<BucketInfo> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("b/"); it->Valid() && it->key().starts_with("b/"); it->Next()) {
    ASSIGN_OR_RETURN(BucketInfo info, DecodeBucket(it->value().ToStringView()));
    out.push_back(std::move(info));
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

Result<std::unique_ptr<ObjectWriter>> LocalBackend::NewWriter(Publish publish) {
  std::string data_id = HexEncode(RandomBytes(16));
  std::string path = DataPath(data_id);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno("create " + path, errno);
  return std::unique_ptr<ObjectWriter>(new LocalObjectWriter(
      path, DataDir(data_id), data_id, std::move(fd), std::move(publish)));
}

Result<std::unique_ptr<ObjectWriter>> LocalBackend::PutObject(const std::string& bucket,
                                                              const std::string& key) {
  RETURN_IF_ERROR(GetBucket(bucket).status());
  return NewWriter([this, bucket, key](const std::string& data_id, ObjectMeta& meta) {
    ObjectRecord record{meta, {DataRef{data_id, meta.size}}};
    return CommitObject(bucket, key, record);
  });
}

Status LocalBackend::CommitObject(const std::string& bucket, const std::string& key,
                                  const ObjectRecord& record) {
  std::vector<std::string> replaced;
  {
    std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    RETURN_IF_ERROR(GetBucket(bucket).status());
    auto old = ReadRecord(bucket, key);
    if (old.ok()) {
      for (const auto& ref : old->data) replaced.push_back(ref.id);
    }
    RETURN_IF_ERROR(FromRocks(db_->Put(SyncWrite(), ObjectKey(bucket, key), EncodeObject(record))));
  }
  RemoveDataFiles(replaced);
  return Status::Ok();
}

// Unlinking is cleanup after a commit: a failure leaves an orphan for the next start's sweep.
void LocalBackend::RemoveDataFiles(const std::vector<std::string>& data_ids) {
  for (const auto& id : data_ids) {
    if (::unlink(DataPath(id).c_str()) != 0 && errno != ENOENT) {
      LogWarn("store: unlink " + DataPath(id) + " failed; swept at next start");
    }
  }
}

Result<ObjectRecord> LocalBackend::ReadRecord(const std::string& bucket, const std::string& key) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), ObjectKey(bucket, key), &value);
  if (s.IsNotFound()) {
    RETURN_IF_ERROR(GetBucket(bucket).status());
    return Status(Code::kNotFound, kNoSuchKey, "no such key: " + key);
  }
  RETURN_IF_ERROR(FromRocks(s));
  return DecodeObject(value);
}

Result<ObjectMeta> LocalBackend::HeadObject(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(ObjectRecord r, ReadRecord(bucket, key));
  return r.meta;
}

Result<ObjectData> LocalBackend::OpenObject(const std::string& bucket, const std::string& key) {
  // A concurrent replace may unlink a file between reading the record and opening it: read
  // the record again (the new one is committed by then).
  for (int attempt = 0; attempt < 8; attempt++) {
    ASSIGN_OR_RETURN(ObjectRecord r, ReadRecord(bucket, key));
    ObjectData data;
    bool replaced = false;
    for (const auto& ref : r.data) {
      int fd = ::open(DataPath(ref.id).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) {
        replaced = true;
        break;
      }
      if (fd < 0) return Status::FromErrno("open object data", errno);
      data.extents.push_back(Extent{std::make_shared<UniqueFd>(fd), 0, ref.size});
    }
    if (replaced) continue;
    data.meta = std::move(r.meta);
    return data;
  }
  return Status(Code::kAborted, "", "object kept changing while being opened");
}

Status LocalBackend::DeleteObject(const std::string& bucket, const std::string& key) {
  std::vector<std::string> removed;
  {
    std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    auto old = ReadRecord(bucket, key);
    if (!old.ok()) return old.status().reason() == kNoSuchKey ? Status::Ok() : old.status();
    for (const auto& ref : old->data) removed.push_back(ref.id);
    RETURN_IF_ERROR(FromRocks(db_->Delete(SyncWrite(), ObjectKey(bucket, key))));
  }
  RemoveDataFiles(removed);
  return Status::Ok();
}

Status LocalBackend::SetObjectAttrs(const std::string& bucket, const std::string& key,
                                    std::vector<std::pair<std::string, std::string>> attrs) {
  std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
  std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
  ASSIGN_OR_RETURN(ObjectRecord record, ReadRecord(bucket, key));
  record.meta.attrs = std::move(attrs);
  return FromRocks(db_->Put(SyncWrite(), ObjectKey(bucket, key), EncodeObject(record)));
}

}  // namespace skyway::store
