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

}  // namespace skyway::vectordb
