// ObjectStore: a bucket through the S3 client library.
#include "vectordb/objects.h"

#include <cstring>

namespace skyway::vectordb {

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(const client::Options& options,
                                                       const std::string& bucket) {
  std::unique_ptr<ObjectStore> s(new ObjectStore());
  ASSIGN_OR_RETURN(s->client_, client::Client::Create(options));
  s->bucket_ = bucket;
  Status st = s->client_->CreateBucket(bucket);
  if (!st.ok() && st.reason() != "BucketAlreadyOwnedByYou" && st.reason() != "BucketAlreadyExists") {
    return Status(st.code(), st.reason(),
                  "cannot create bucket " + bucket + " at " + options.endpoint + ": " + st.message());
  }
  return s;
}

Status ObjectStore::Put(const std::string& key, std::string_view data) {
  return client_->Put(bucket_, key, data.data(), data.size()).status();
}

Result<std::string> ObjectStore::Get(const std::string& key) {
  ASSIGN_OR_RETURN(client::ObjectInfo info, client_->Stat(bucket_, key));
  std::string out(info.size, '\0');
  if (info.size == 0) return out;
  ASSIGN_OR_RETURN(client::TransferResult r, client_->Get(bucket_, key, out.data(), out.size()));
  if (r.bytes != info.size) return Status::IOError("short read of " + key);
  return out;
}

Result<std::unique_ptr<client::Buffer>> ObjectStore::Allocate(size_t size) {
  return client_->Allocate(std::max<size_t>(size, 1));
}

Result<std::unique_ptr<client::Buffer>> ObjectStore::GetBuffer(const std::string& key,
                                                               client::Transport* transport) {
  ASSIGN_OR_RETURN(client::ObjectInfo info, client_->Stat(bucket_, key));
  ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> buffer, Allocate(info.size));
  if (info.size > 0) {
    ASSIGN_OR_RETURN(client::TransferResult r,
                     client_->ParallelGet(bucket_, key, buffer->data(), buffer->size()));
    if (r.bytes != info.size) return Status::IOError("short read of " + key);
    if (transport) *transport = r.transport;
  }
  return buffer;
}

Status ObjectStore::GetIntoDevice(const std::string& key, void* device, size_t capacity) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> registered, client_->RegisterDevice(device, capacity));
  ASSIGN_OR_RETURN(client::TransferResult r,
                   client_->ParallelGet(bucket_, key, static_cast<char*>(device), capacity));
  if (r.transport != client::Transport::kDirect) return Status::IOError("GET into GPU memory went over HTTP");
  return Status::Ok();
}

ObjectRows::~ObjectRows() {
  buffers_.clear();  // deregistered (the server lets go) before the GPU memory is freed
  device_.clear();
}

Result<float*> ObjectRows::Buffer(size_t bytes, bool device) {
  if (!device) {
    ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> buffer, store_->Allocate(bytes));
    buffers_.push_back(std::move(buffer));
    return reinterpret_cast<float*>(buffers_.back()->data());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<vector::DeviceVectors> memory, vector::AllocateDeviceVectors(bytes));
  ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> registered,
                   store_->client().RegisterDevice(memory->data(), bytes));
  device_.push_back(std::move(memory));
  buffers_.push_back(std::move(registered));
  return device_.back()->data();
}

Status ObjectRows::Read(size_t first, size_t count, float* dst) {
  const uint64_t length = uint64_t{count} * dim_ * sizeof(float);
  ASSIGN_OR_RETURN(client::TransferResult r,
                   store_->client().Get(store_->bucket(), key_, reinterpret_cast<char*>(dst), length,
                                        uint64_t{first} * dim_ * sizeof(float), length));
  if (r.bytes != length) return Status::IOError("short read of " + key_);
  if (r.transport != client::Transport::kDirect) transport_ = r.transport;
  return Status::Ok();
}

Status ObjectStore::PutBuffer(const std::string& key, const client::Buffer& buffer, size_t size,
                              client::Transport* transport) {
  ASSIGN_OR_RETURN(client::TransferResult r, client_->ParallelPut(bucket_, key, buffer.data(), size));
  if (transport) *transport = r.transport;
  return Status::Ok();
}

Status ObjectStore::PutLarge(const std::string& key, std::string_view data,
                             client::Transport* transport) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> buffer, Allocate(data.size()));
  memcpy(buffer->data(), data.data(), data.size());
  return PutBuffer(key, *buffer, data.size(), transport);
}

Result<std::vector<std::string>> ObjectStore::List(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string token;
  do {
    ASSIGN_OR_RETURN(client::ListPage page, client_->List(bucket_, prefix, "", token));
    for (auto& o : page.objects) keys.push_back(std::move(o.key));
    token = page.truncated ? page.next_token : "";
  } while (!token.empty());
  return keys;
}

Result<std::vector<std::string>> ObjectStore::ListDirs(const std::string& prefix) {
  std::vector<std::string> dirs;
  std::string token;
  do {
    ASSIGN_OR_RETURN(client::ListPage page, client_->List(bucket_, prefix, "/", token));
    for (auto& p : page.common_prefixes) dirs.push_back(std::move(p));
    token = page.truncated ? page.next_token : "";
  } while (!token.empty());
  return dirs;
}

Status ObjectStore::Delete(const std::string& key) { return client_->Delete(bucket_, key); }

Status ObjectStore::DeletePrefix(const std::string& prefix) {
  ASSIGN_OR_RETURN(std::vector<std::string> keys, List(prefix));
  for (const auto& k : keys) RETURN_IF_ERROR(Delete(k));
  return Status::Ok();
}

}  // namespace skyway::vectordb
