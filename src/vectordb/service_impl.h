// Service internals: the catalogue of collections, the background worker, and the REST handlers
// (api.cc). Private to vectordb/.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "vectordb/collection.h"
#include "vectordb/json_body.h"
#include "vectordb/objects.h"
#include "vectordb/schema.h"
#include "vectordb/vectordb.h"

namespace skyway::vectordb {

// What a handler needs from the request besides its JSON body.
struct CallContext {
  bool int64_as_number = false;
  const FloatLists* floats = nullptr;  // vectors ParseBody set aside
};

class Service::Impl {
 public:
  explicit Impl(Options options);
  ~Impl();
  Status Open();

  // Runs a background job on the worker thread (one at a time, in order).
  void Schedule(std::function<void()> job);

  Result<std::shared_ptr<Collection>> Get(const Json& body);  // by "collectionName"
  Result<std::shared_ptr<Collection>> Find(const std::string& name);
  std::vector<std::string> Names();
  Status Create(const std::string& name, Schema schema, std::shared_ptr<Collection>* out);
  Status Drop(const std::string& name);
  Status Rename(const std::string& from, const std::string& to);

  // Dispatches one API call: group/verb with a parsed body; returns `data` or an error status.
  Result<Json> Call(const std::string& group, const std::string& verb, const Json& body,
                    const CallContext& ctx, Json* extra);

  const Options& options() const { return options_; }

 private:
  void WorkerLoop();

  Options options_;
  Tuning tuning_;
  std::unique_ptr<ObjectStore> store_;
  std::mutex catalog_mu_;
  std::map<std::string, std::shared_ptr<Collection>> collections_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

// api.cc
Result<Json> CollectionsCall(Service::Impl& svc, const std::string& verb, const Json& body,
                             const CallContext& ctx);
Result<Json> EntitiesCall(Service::Impl& svc, const std::string& verb, const Json& body,
                          const CallContext& ctx, Json* extra);
Result<Json> IndexesCall(Service::Impl& svc, const std::string& verb, const Json& body);
Result<Json> PartitionsCall(Service::Impl& svc, const std::string& verb, const Json& body);

// Body helpers: a required string, an optional string.
Result<std::string> RequiredString(const Json& body, const char* key);
std::string OptionalString(const Json& body, const char* key);
bool ValidCollectionName(const std::string& name);

}  // namespace skyway::vectordb
