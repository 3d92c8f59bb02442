// Service: the catalogue of collections in the store, the worker that builds and loads in the
// background, and the HTTP face (auth, body limits, JSON envelopes).
#include "vectordb/service_impl.h"

namespace skyway::vectordb {

Service::Impl::Impl(Options options) : options_(std::move(options)) {
  tuning_.segment_rows = options_.segment_rows;
  tuning_.segment_bytes = options_.segment_bytes;
  tuning_.compact_ratio = options_.compact_ratio;
  tuning_.build_threads = options_.build_threads;
  tuning_.build_memory = options_.build_memory;
  worker_ = std::thread([this] { WorkerLoop(); });
}

Service::Impl::~Impl() {
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
    jobs_.clear();
  }
  jobs_cv_.notify_all();
  worker_.join();
}

void Service::Impl::Schedule(std::function<void()> job) {
  {
    std::lock_guard lock(jobs_mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
}

void Service::Impl::WorkerLoop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

Status Service::Impl::Open() {
  ASSIGN_OR_RETURN(store_, ObjectStore::Open(options_.store, options_.bucket));
  ASSIGN_OR_RETURN(std::vector<std::string> dirs, store_->ListDirs("collections/"));
  for (const std::string& dir : dirs) {  // "collections/<uid>/"
    std::string uid = dir.substr(12, dir.size() - 13);
    auto c = Collection::Open(store_.get(), tuning_, [this](auto job) { Schedule(std::move(job)); }, uid);
    if (!c.ok()) return Status(c.status().code(), "", "collection " + uid + ": " + c.status().message());
    if (*c) collections_[(*c)->name()] = *c;
  }
  LogInfo("vectordb: " + std::to_string(collections_.size()) + " collections in s3://" +
          options_.bucket + " at " + options_.store.endpoint);
  return Status::Ok();
}

Result<std::shared_ptr<Collection>> Service::Impl::Find(const std::string& name) {
  std::lock_guard lock(catalog_mu_);
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    return MilvusError(code::kCollectionNotFound, "collection not found[collection=" + name + "]");
  }
  return it->second;
}

Result<std::shared_ptr<Collection>> Service::Impl::Get(const Json& body) {
  ASSIGN_OR_RETURN(std::string name, RequiredString(body, "collectionName"));
  return Find(name);
}

std::vector<std::string> Service::Impl::Names() {
  std::lock_guard lock(catalog_mu_);
  std::vector<std::string> out;
  for (const auto& [name, c] : collections_) out.push_back(name);
  return out;
}

Status Service::Impl::Create(const std::string& name, Schema schema,
                             std::shared_ptr<Collection>* out) {
  std::lock_guard lock(catalog_mu_);
  if (auto it = collections_.find(name); it != collections_.end()) {
    if (SchemaToJson(it->second->schema()) == SchemaToJson(schema)) {  // Milvus: a no-op
      *out = nullptr;
      return Status::Ok();
    }
    return MilvusError(code::kInternal,
                       "create duplicate collection with different parameters, collection: " + name);
  }
  ASSIGN_OR_RETURN(*out, Collection::Create(store_.get(), tuning_,
                                            [this](auto job) { Schedule(std::move(job)); }, name,
                                            std::move(schema)));
  collections_[name] = *out;
  return Status::Ok();
}

Status Service::Impl::Drop(const std::string& name) {
  std::shared_ptr<Collection> c;
  {
    std::lock_guard lock(catalog_mu_);
    auto it = collections_.find(name);
    if (it == collections_.end()) return Status::Ok();  // Milvus: dropping a missing one is ok
    c = it->second;
    collections_.erase(it);
  }
  return c->Drop();
}

Status Service::Impl::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(catalog_mu_);
  auto it = collections_.find(from);
  if (it == collections_.end()) {
    return MilvusError(code::kCollectionNotFound, "collection not found[collection=" + from + "]");
  }
  if (collections_.count(to)) {
    return MilvusError(code::kInternal, "duplicated new collection name " + to);
  }
  RETURN_IF_ERROR(it->second->Rename(to));
  collections_[to] = it->second;
  collections_.erase(it);
  return Status::Ok();
}

Result<Json> Service::Impl::Call(const std::string& group, const std::string& verb,
                                 const Json& body, const CallContext& ctx, Json* extra) {
  if (group == "collections") return CollectionsCall(*this, verb, body, ctx);
  if (group == "entities") return EntitiesCall(*this, verb, body, ctx, extra);
  if (group == "indexes") return IndexesCall(*this, verb, body);
  if (group == "partitions") return PartitionsCall(*this, verb, body);
  return MilvusError(code::kInvalidParameter, "unknown API group " + group);
}

// ---- Service: HTTP -----------------------------------------------------------------------------

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::Open(Options options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

namespace {

void Reply(http::Response& res, const Json& body) {
  res.status = 200;
  res.headers.Set("Content-Type", "application/json");
  res.SetBody(body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void ReplyError(http::Response& res, int milvus_code, std::string_view message) {
  Reply(res, Json{{"code", milvus_code}, {"message", message}});
}

bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

bool Authorized(const Options& o, const http::Request& req) {
  if (o.access_key.empty()) return true;
  auto auth = req.headers.Get("Authorization");
  if (!auth) return false;
  return SameSecret(*auth, "Bearer " + o.access_key + ":" + o.secret_key);
}

// Reads the body; a body over the limit is read to its end (up to 1 GiB) and refused.
Result<std::string> ReadLimitedBody(http::Request& req, size_t max, http::Response& res) {
  auto body = req.ReadBody(max);
  if (body.ok()) return body;
  if (body.status().code() == Code::kResourceExhausted) {
    char buf[64 * 1024];
    uint64_t drained = 0;
    for (;;) {
      auto n = req.body->Read(buf, sizeof buf);
      if (!n.ok() || *n == 0) break;
      drained += *n;
      if (drained > (1ull << 30)) {
        res.close_connection = true;
        break;
      }
    }
    return MilvusError(code::kInvalidParameter,
                       "request body too large: at most " + std::to_string(max >> 20) + " MiB");
  }
  res.close_connection = true;
  return body.status();
}

}  // namespace

void Service::FormatError(int status, std::string_view reason, std::string_view message,
                          http::Response& res) {
  ReplyError(res, code::kBadRequestFormat, std::string(reason) + ": " + std::string(message));
  res.status = status;
}

void Service::Handle(http::Request& req, http::Response& res) {
  const std::string prefix = "/v2/vectordb/";
  if (req.path == "/health" || req.path == "/_skyway/health") {
    Reply(res, Json{{"code", 0}, {"data", Json::object()}});
    return;
  }
  if (req.path.rfind(prefix, 0) != 0) {
    ReplyError(res, code::kInvalidParameter, "no such API: " + req.path);
    res.status = 404;
    return;
  }
  std::string rest = req.path.substr(prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) {
    ReplyError(res, code::kInvalidParameter, "no such API: " + req.path);
    res.status = 404;
    return;
  }
  if (req.method != "POST" && req.method != "GET") {
    ReplyError(res, code::kInvalidParameter, "use POST");
    res.status = 405;
    return;
  }
  auto body_text = ReadLimitedBody(req, impl_->options().max_body, res);
  if (!body_text.ok()) return ReplyError(res, MilvusCode(body_text.status()), body_text.status().message());
  if (!Authorized(impl_->options(), req)) {
    return ReplyError(res, code::kUnauthenticated,
                      "user hasn't authenticated: send Authorization: Bearer ACCESS_KEY:SECRET_KEY");
  }
  FloatLists floats;
  Result<Json> parsed = body_text->empty() ? Result<Json>(Json::object()) : ParseBody(*body_text, &floats);
  if (!parsed.ok()) return ReplyError(res, MilvusCode(parsed.status()), parsed.status().message());
  Json body = std::move(parsed).value();
  if (!body.is_object()) return ReplyError(res, code::kBadRequestFormat, "the body must be a JSON object");
  CallContext ctx;
  ctx.floats = &floats;
  if (auto v = req.headers.Get("Accept-Type-Allow-Int64")) ctx.int64_as_number = ToLower(*v) == "true";
  Json extra = Json::object();
  Result<Json> data = Status::Internal("unreached");
  try {
    data = impl_->Call(rest.substr(0, slash), rest.substr(slash + 1), body, ctx, &extra);
  } catch (const Json::exception& e) {
    data = MilvusError(code::kInvalidParameter, std::string("invalid parameter: ") + e.what());
  } catch (const std::exception& e) {
    data = MilvusError(code::kInternal, std::string("internal error: ") + e.what());
  }
  if (!data.ok()) return ReplyError(res, MilvusCode(data.status()), data.status().message());
  Json out = {{"code", 0}, {"data", std::move(*data)}};
  for (auto& [k, v] : extra.items()) out[k] = v;
  Reply(res, out);
}

}  // namespace skyway::vectordb
