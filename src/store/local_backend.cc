#include "store/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <unordered_set>

namespace skyway::store {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(Code::kIOError, "", "rocksdb: " + s.ToString());
}

Status NoSuchBucket(const std::string& bucket) {
  return Status(Code::kNotFound, kNoSuchBucket, "bucket does not exist: " + bucket);
}

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir " + path, errno);
  }
  return Status::Ok();
}

class LocalObjectWriter : public ObjectWriter {
 public:
  LocalObjectWriter(LocalBackend* backend, std::string bucket, std::string key,
                    std::string data_id, UniqueFd fd)
      : backend_(backend),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        data_id_(std::move(data_id)),
        fd_(std::move(fd)) {}

  ~LocalObjectWriter() override {
    if (!committed_) {
      fd_ = UniqueFd();
      ::unlink(backend_->DataPath(data_id_).c_str());
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
    RETURN_IF_ERROR(FsyncDir(backend_->DataDir(data_id_)));
    ObjectRecord record;
    record.data_id = data_id_;
    record.meta = std::move(meta);
    record.meta.size = written_;
    record.meta.mtime_nanos = NowNanos();
    RETURN_IF_ERROR(backend_->CommitObject(bucket_, key_, record));
    committed_ = true;
    return record.meta;
  }

 private:
  LocalBackend* backend_;
  std::string bucket_, key_, data_id_;
  UniqueFd fd_;
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
  return FromRocks(db_->Delete(SyncWrite(), BucketKey(bucket)));
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

Result<std::unique_ptr<ObjectWriter>> LocalBackend::PutObject(const std::string& bucket,
                                                              const std::string& key) {
  RETURN_IF_ERROR(GetBucket(bucket).status());
  std::string data_id = HexEncode(RandomBytes(16));
  std::string path = DataPath(data_id);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno("create " + path, errno);
  return std::unique_ptr<ObjectWriter>(
      new LocalObjectWriter(this, bucket, key, std::move(data_id), std::move(fd)));
}

Status LocalBackend::CommitObject(const std::string& bucket, const std::string& key,
                                  const ObjectRecord& record) {
  std::string replaced;
  {
    std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    RETURN_IF_ERROR(GetBucket(bucket).status());
    auto old = ReadRecord(bucket, key);
    if (old.ok()) replaced = old->data_id;
    RETURN_IF_ERROR(FromRocks(db_->Put(SyncWrite(), ObjectKey(bucket, key), EncodeObject(record))));
  }
  if (!replaced.empty()) RETURN_IF_ERROR(RemoveDataFile(replaced));
  return Status::Ok();
}

Status LocalBackend::RemoveDataFile(const std::string& data_id) {
  if (::unlink(DataPath(data_id).c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno("unlink " + DataPath(data_id), errno);
  }
  return Status::Ok();
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
  // A concurrent replace may unlink the file between reading the record and opening it: read
  // the record again (the new one is committed by then).
  for (int attempt = 0; attempt < 8; attempt++) {
    ASSIGN_OR_RETURN(ObjectRecord r, ReadRecord(bucket, key));
    int fd = ::open(DataPath(r.data_id).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) continue;
    if (fd < 0) return Status::FromErrno("open object data", errno);
    ObjectData data;
    data.meta = std::move(r.meta);
    data.extents.push_back(Extent{std::make_shared<UniqueFd>(fd), 0, data.meta.size});
    return data;
  }
  return Status(Code::kAborted, "", "object kept changing while being opened");
}

Status LocalBackend::DeleteObject(const std::string& bucket, const std::string& key) {
  std::string removed;
  {
    std::shared_lock<std::shared_mutex> bucket_lock(bucket_mu_);
    std::lock_guard<std::mutex> key_lock(KeyLock(bucket, key));
    auto old = ReadRecord(bucket, key);
    if (!old.ok()) return old.status().reason() == kNoSuchKey ? Status::Ok() : old.status();
    removed = old->data_id;
    RETURN_IF_ERROR(FromRocks(db_->Delete(SyncWrite(), ObjectKey(bucket, key))));
  }
  return RemoveDataFile(removed);
}

}  // namespace skyway::store
