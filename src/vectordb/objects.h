// The vector database's view of the object store: one bucket, reached only through the S3 client
// library (the direct path for large column and index objects when the endpoint offers it).
// Private to vectordb/.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "common/common.h"
#include "vector/vector.h"

namespace skyway::vectordb {

class ObjectStore {
 public:
  // Connects (lazily) and creates the bucket when it is missing.
  static Result<std::unique_ptr<ObjectStore>> Open(const client::Options& options,
                                                   const std::string& bucket);

  // Small objects (manifests, WAL records, scalar columns): through a plain HTTP body.
  Status Put(const std::string& key, std::string_view data);
  Result<std::string> Get(const std::string& key);
  // Large objects: into / out of memory from Allocate(), so the direct path can carry them.
  // Fills *transport with how the bytes moved.
  Result<std::unique_ptr<client::Buffer>> GetBuffer(const std::string& key,
                                                    client::Transport* transport = nullptr);
  // GETs key into GPU memory registered for the direct path (no host copy on this side).
  // Errors: kFailedPrecondition when the device or the direct path is not available.
  Status GetIntoDevice(const std::string& key, void* device, size_t capacity);
  Status PutBuffer(const std::string& key, const client::Buffer& buffer, size_t size,
                   client::Transport* transport = nullptr);
  // Copies data into registered memory, then PutBuffer.
  Status PutLarge(const std::string& key, std::string_view data,
                  client::Transport* transport = nullptr);
  Result<std::unique_ptr<client::Buffer>> Allocate(size_t size);

  // Every key under prefix, in order.
  Result<std::vector<std::string>> List(const std::string& prefix);
  // Keys and "directories" directly under prefix (delimiter '/').
  Result<std::vector<std::string>> ListDirs(const std::string& prefix);
  Status Delete(const std::string& key);
  Status DeletePrefix(const std::string& prefix);

  const std::string& bucket() const { return bucket_; }
  client::Client& client() { return *client_; }

 private:
  ObjectStore() = default;
  std::unique_ptr<client::Client> client_;
  std::string bucket_;
};

// A segment's vectors object read a block of rows at a time (a streamed index build): ranged
// GETs through the direct path into registered host memory, or into GPU memory registered with
// the server (no host copy on this side).
class ObjectRows final : public vector::RowSource {
 public:
  ObjectRows(ObjectStore* store, std::string key, size_t dim)
      : store_(store), key_(std::move(key)), dim_(dim) {}
  ~ObjectRows() override;
  Result<float*> Buffer(size_t bytes, bool device) override;
  Status Read(size_t first, size_t count, float* dst) override;
  // kDirect when every read went through the direct path.
  client::Transport transport() const { return transport_; }

 private:
  ObjectStore* store_;
  std::string key_;
  size_t dim_;
  client::Transport transport_ = client::Transport::kDirect;
  std::vector<std::unique_ptr<vector::DeviceVectors>> device_;
  std::vector<std::unique_ptr<client::Buffer>> buffers_;  // host buffers, device registrations
};

}  // namespace skyway::vectordb
