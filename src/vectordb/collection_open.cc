// Collection: reopening from the store, loading and releasing, index builds, and the
// catalogue operations (rename, drop, partitions, index create/drop).
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "vectordb/collection.h"

namespace skyway::vectordb {
namespace {

// The number after the last '/' of a key like ".../wal/00000000000000000012".
std::optional<int64_t> SeqOf(const std::string& key) {
  size_t slash = key.rfind('/');
  std::string tail = key.substr(slash + 1);
  if (size_t dot = tail.find('.'); dot != std::string::npos) tail.resize(dot);
  auto n = ParseUint64(tail);
  if (!n) return std::nullopt;
  return static_cast<int64_t>(*n);
}

}  // namespace

Result<std::shared_ptr<Collection>> Collection::Open(ObjectStore* store, const Tuning& tuning,
                                                     Scheduler scheduler, const std::string& uid) {
  std::shared_ptr<Collection> c(new Collection(store, tuning, std::move(scheduler)));
  c->uid_ = uid;
  ASSIGN_OR_RETURN(std::vector<std::string> manifests, store->List(c->Prefix() + "manifest/"));
  Json m;
  if (!manifests.empty()) {
    ASSIGN_OR_RETURN(std::string text, store->Get(manifests.back()));
    m = Json::parse(text, nullptr, false);
    if (!m.is_object()) return Status::Invalid("manifest " + manifests.back() + " is not JSON");
  }
  if (manifests.empty() || m.value("dropped", false)) {  // a drop that did not finish
    RETURN_IF_ERROR(store->DeletePrefix(c->Prefix()));
    return std::shared_ptr<Collection>();
  }
  std::lock_guard write(c->write_mu_);
  try {
    RETURN_IF_ERROR(c->ReadManifest(m));
  } catch (const Json::exception& e) {
    return Status::Invalid("manifest " + manifests.back() + ": " + e.what());
  }
  RETURN_IF_ERROR(c->ReplayWal());
  if (c->loaded_wanted_) {
    c->load_state_ = LoadState::kLoading;
    c->scheduler_([self = c] { self->LoadSegments(); });
  }
  if (c->index_) c->ScheduleBuilds();
  return c;
}

Status Collection::ReadManifest(const Json& m) {
  manifest_version_ = m.at("version").get<int64_t>();
  name_ = m.at("name").get<std::string>();
  created_ms_ = m.value("created_ms", int64_t{0});
  ASSIGN_OR_RETURN(schema_, SchemaFromJson(m.at("schema")));
  partitions_ = m.at("partitions").get<std::vector<std::string>>();
  loaded_wanted_ = m.value("loaded", false);
  next_seq_ = m.at("wal_next").get<int64_t>();
  next_segment_ = m.at("next_segment").get<int64_t>();
  next_auto_id_ = m.value("next_auto_id", int64_t{0});
  if (!m.at("index").is_null()) {
    const Json& ji = m["index"];
    IndexInfo info;
    info.name = ji.at("name").get<std::string>();
    info.field = ji.at("field").get<std::string>();
    info.spec.type = ji.at("type").get<std::string>();
    ASSIGN_OR_RETURN(info.spec.metric, vector::ParseMetric(ji.at("metric").get<std::string>()));
    info.spec.params = ji.at("params").get<vector::Params>();
    info.generation = ji.at("generation").get<int64_t>();
    index_ = info;
  }
  for (const Json& e : m.at("segments")) {
    auto seg = std::make_shared<Segment>();
    seg->id = e.at("id").get<int64_t>();
    seg->partition = e.at("partition").get<std::string>();
    seg->rows = e.at("rows").get<size_t>();
    seg->dim = schema_.dim();
    seg->sealed = true;
    seg->deletes_key = e.value("deletes", "");
    seg->index_key = e.value("index", "");
    seg->index_generation = e.value("index_generation", int64_t{0});
    RETURN_IF_ERROR(LoadSegmentColumns(seg.get(), e));
    segments_.push_back(seg);
  }
  return Status::Ok();
}

Status Collection::LoadSegmentColumns(Segment* seg, const Json&) {
  std::string prefix = SegmentPrefix(seg->id);
  seg->columns.resize(schema_.fields.size());
  for (size_t i = 0; i < schema_.fields.size(); i++) {
    if (static_cast<int>(i) == schema_.vector) continue;
    ASSIGN_OR_RETURN(std::string bytes, store_->Get(prefix + "fields/" + schema_.fields[i].name));
    Status st = DecodeColumn(schema_.fields[i].type, bytes, seg->rows, &seg->columns[i]);
    if (!st.ok()) return Status::Invalid(prefix + schema_.fields[i].name + ": " + st.message());
  }
  if (schema_.dynamic) {
    ASSIGN_OR_RETURN(std::string bytes, store_->Get(prefix + "meta.json"));
    RETURN_IF_ERROR(DecodeDocs(bytes, seg->rows, &seg->meta));
  }
  seg->deleted.assign(seg->rows, 0);
  if (!seg->deletes_key.empty()) {
    ASSIGN_OR_RETURN(std::string rows, store_->Get(seg->deletes_key));
    for (size_t off = 0; off + 4 <= rows.size(); off += 4) {
      uint32_t r;
      memcpy(&r, rows.data() + off, 4);
      if (r < seg->rows && !seg->deleted[r]) {
        seg->deleted[r] = 1;
        seg->deleted_count++;
      }
    }
  }
  for (size_t r = 0; r < seg->rows; r++) {
    if (!seg->deleted[r]) pk_[KeyOf(*seg, r)] = Location{seg, r};
  }
  return Status::Ok();
}

Status Collection::ReplayWal() {
  int64_t wal_next = next_seq_;
  ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->List(Prefix() + "wal/"));
  size_t replayed = 0;
  for (const auto& key : keys) {
    auto seq = SeqOf(key);
    if (!seq) continue;
    next_seq_ = std::max(next_seq_, *seq + 1);
    wal_seqs_.push_back(*seq);
    if (*seq < wal_next) continue;  // already in a sealed segment; trimmed by the next manifest
    ASSIGN_OR_RETURN(std::string bytes, store_->Get(key));
    ASSIGN_OR_RETURN(WalRecord rec, DecodeWal(schema_, bytes));
    if (rec.kind == WalRecord::kDelete) {
      ApplyDelete(rec.batch.columns[schema_.pk]);
    } else if (std::find(partitions_.begin(), partitions_.end(), rec.partition) != partitions_.end()) {
      ApplyInsert(rec.partition, std::move(rec.batch), *seq);
    }
    replayed++;
  }
  if (replayed > 0) {
    LogInfo("vectordb: " + name_ + ": replayed " + std::to_string(replayed) + " WAL records");
  }
  return Status::Ok();
}

// ---- load / release ----------------------------------------------------------------------------

LoadState Collection::load_state() {
  std::shared_lock lock(state_mu_);
  return load_state_;
}

Status Collection::Load() {
  std::lock_guard write(write_mu_);
  if (!index_) {
    return MilvusError(code::kIndexNotFound,
                       "there is no vector index on field: [" + schema_.vector_field().name +
                           "], please create index firstly: collection=" + name_);
  }
  if (loaded_wanted_) return Status::Ok();
  loaded_wanted_ = true;
  {
    std::unique_lock lock(state_mu_);
    load_state_ = LoadState::kLoading;
  }
  RETURN_IF_ERROR(WriteManifest());
  scheduler_([self = shared_from_this()] { self->LoadSegments(); });
  return Status::Ok();
}

Status Collection::Release() {
  std::lock_guard write(write_mu_);
  loaded_wanted_ = false;
  {
    std::unique_lock lock(state_mu_);
    load_state_ = LoadState::kNotLoad;
    for (auto& seg : segments_) {
      if (!seg->sealed) continue;
      seg->index.reset();
      seg->buffer.reset();
    }
  }
  return WriteManifest();
}

void Collection::LoadSegments() {
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::shared_lock lock(state_mu_);
    segs = segments_;
  }
  for (auto& seg : segs) {
    if (!seg->sealed) continue;
    Status st = LoadSegment(seg.get());
    if (!st.ok()) {
      LogError("vectordb: " + name() + ": loading segment " + std::to_string(seg->id) + ": " +
               st.ToString());
    }
  }
  std::unique_lock lock(state_mu_);
  if (loaded_wanted_ && load_state_ == LoadState::kLoading) load_state_ = LoadState::kLoaded;
  LogInfo("vectordb: " + name_ + ": loaded");
}

Status Collection::LoadSegment(Segment* seg) {
  std::optional<IndexInfo> info = index();
  std::string prefix = SegmentPrefix(seg->id);
  bool has_index = info && !seg->index_key.empty() && seg->index_generation == info->generation;
  std::shared_ptr<client::Buffer> vectors;
  if (!has_index || !vector::HoldsVectors(info->spec)) {
    client::Transport t = client::Transport::kHttp;
    ASSIGN_OR_RETURN(vectors, store_->GetBuffer(prefix + "vectors.f32", &t));
    LogInfo("vectordb: " + name() + ": segment " + std::to_string(seg->id) + " vectors loaded (" +
            (t == client::Transport::kDirect ? "direct path" : "HTTP") + ")");
  }
  std::shared_ptr<vector::Index> index;
  if (has_index) {
    ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> bytes, store_->GetBuffer(seg->index_key));
    ASSIGN_OR_RETURN(std::unique_ptr<vector::Index> idx,
                     vector::LoadIndex(info->spec, std::string_view(bytes->data(), bytes->size()),
                                       vectors ? reinterpret_cast<const float*>(vectors->data()) : nullptr,
                                       seg->rows, seg->dim));
    index = std::move(idx);
    LogInfo("vectordb: " + name() + ": segment " + std::to_string(seg->id) + " index " +
            info->spec.type + " loaded from the store (not rebuilt)");
  }
  std::unique_lock lock(state_mu_);
  if (!loaded_wanted_) return Status::Ok();
  seg->buffer = vectors;
  seg->index = index;
  return Status::Ok();
}

// ---- index builds ------------------------------------------------------------------------------

std::optional<IndexInfo> Collection::index() {
  std::shared_lock lock(state_mu_);
  return index_;
}

void Collection::ScheduleBuilds() {
  if (!index_) return;
  for (auto& seg : segments_) {
    if (seg->sealed && seg->index_generation != index_->generation) {
      scheduler_([self = shared_from_this(), id = seg->id, gen = index_->generation] {
        self->BuildSegmentIndex(id, gen);
      });
    }
  }
}

void Collection::BuildSegmentIndex(int64_t id, int64_t generation) {
  std::shared_ptr<Segment> seg;
  std::shared_ptr<client::Buffer> vectors;
  vector::IndexSpec spec;
  std::string index_name;
  {
    std::shared_lock lock(state_mu_);
    for (auto& s : segments_) {
      if (s->id == id) seg = s;
    }
    if (!seg || !index_ || index_->generation != generation || seg->index_generation == generation) return;
    spec = index_->spec;
    index_name = index_->name;
    vectors = seg->buffer;
  }
  if (dropped_) return;
  auto fail = [&](const Status& st) {
    LogError("vectordb: " + name() + ": index build of segment " + std::to_string(id) + ": " + st.ToString());
    std::unique_lock lock(state_mu_);
    index_fail_ = st.message();
  };
  int64_t t0 = NowNanos(), t1 = 0, t2 = 0;
  client::Transport transport = client::Transport::kHttp;
  const std::string vectors_key = SegmentPrefix(id) + "vectors.f32";
  std::shared_ptr<vector::Index> index;
  Result<std::string> bytes = Status::Internal("unbuilt");
  std::string how;  // for the log: how the vectors reached the build
  const bool on_gpu = !vector::GpuDevice().empty();
  if (!vectors && EqualsIgnoreCase(spec.type, "GPU_CAGRA") && (on_gpu || tuning_.build_memory > 0)) {
    // Fed from the store a block of rows at a time (one block when the segment fits), on a GPU
    // node straight into GPU memory through the direct path; only the graph comes back.
    ObjectRows rows(store_, vectors_key, seg->dim);
    vector::StreamStats stats;
    auto built = vector::BuildIndexStreamed(spec, seg->rows, seg->dim, rows,
                                            {tuning_.build_memory, on_gpu}, &stats);
    if (built.ok()) {
      t1 = t0;  // the reads interleave with the build: all of it counts as build
      t2 = NowNanos();
      transport = rows.transport();
      bytes = (*built)->Serialize();
      how = std::to_string(stats.blocks) + " block(s) of " + std::to_string(stats.block_rows) +
            " rows, " + std::to_string(stats.reads) + " reads, " + FormatBytes(stats.bytes_read) +
            ", " + (on_gpu ? "GPU" : "CPU") + " build";
    } else if (on_gpu && built.status().code() != Code::kInvalidArgument) {
      LogWarn("vectordb: " + name() + ": GPU build of segment " + std::to_string(id) +
              " fed through host memory: " + built.status().ToString());
    } else {
      return fail(built.status());
    }
  }
  if (!bytes.ok()) {
    if (!vectors) {
      auto got = store_->GetBuffer(vectors_key, &transport);
      if (!got.ok()) return fail(got.status());
      vectors = std::move(got).value();
    }
    t1 = NowNanos();
    auto built = vector::BuildIndex(spec, reinterpret_cast<const float*>(vectors->data()), seg->rows,
                                    seg->dim, tuning_.build_threads);
    if (!built.ok()) return fail(built.status());
    index = std::move(built).value();
    t2 = NowNanos();
    bytes = index->Serialize();
  }
  if (!bytes.ok()) return fail(bytes.status());
  std::string key = SegmentPrefix(id) + "index/" + index_name + "-" + Seq(generation) + "." + spec.type;
  if (Status st = store_->PutLarge(key, *bytes); !st.ok()) return fail(st);
  int64_t t3 = NowNanos();
  if (!index && loaded_wanted_) {  // built from the store's rows: serve it over host vectors
    auto got = store_->GetBuffer(vectors_key, nullptr);
    if (!got.ok()) return fail(got.status());
    vectors = std::move(got).value();
    auto loaded = vector::LoadIndex(spec, *bytes, reinterpret_cast<const float*>(vectors->data()),
                                    seg->rows, seg->dim);
    if (!loaded.ok()) return fail(loaded.status());
    index = std::move(loaded).value();
  }
  std::lock_guard write(write_mu_);
  if (dropped_) return;  // Drop ran during the build: write nothing more
  if (!index_ || index_->generation != generation || !SegmentById(id)) {
    stale_objects_.push_back(key);
    return;
  }
  {
    std::unique_lock lock(state_mu_);
    if (!seg->index_key.empty()) stale_objects_.push_back(seg->index_key);
    seg->index_key = key;
    seg->index_generation = generation;
    if (loaded_wanted_ && index) {
      seg->index = index;
      seg->buffer = vector::HoldsVectors(spec) ? nullptr : vectors;  // held once
    }
  }
  if (Status st = WriteManifest(); !st.ok()) return fail(st);
  auto secs = [](int64_t a, int64_t b) { return std::to_string((b - a) / 1e9); };
  LogInfo("vectordb: " + name_ + ": segment " + std::to_string(id) + " " + spec.type + " index built: load " +
          secs(t0, t1) + " s (" + (transport == client::Transport::kDirect ? "direct" : "memory/http") +
          "), build " + secs(t1, t2) + " s" + (how.empty() ? "" : " (" + how + ")") + ", store " +
          secs(t2, t3) + " s");
}

void Collection::IndexProgress(size_t* total, size_t* indexed, size_t* pending, std::string* fail) {
  std::shared_lock lock(state_mu_);
  *total = *indexed = 0;
  for (auto& seg : segments_) {
    if (!seg->sealed) continue;
    *total += seg->rows;
    if (index_ && seg->index_generation == index_->generation) *indexed += seg->rows;
  }
  *pending = *total - *indexed;
  *fail = index_fail_;
}

Status Collection::CreateIndex(IndexInfo info) {
  {
    std::lock_guard write(write_mu_);
    if (index_) {
      if (index_->name == info.name && index_->spec.type == info.spec.type &&
          index_->spec.metric == info.spec.metric && index_->spec.params == info.spec.params) {
        return Status::Ok();
      }
      return MilvusError(code::kInternal, "at most one distinct index is allowed per field");
    }
    info.generation = manifest_version_ + 1;
    {
      std::unique_lock lock(state_mu_);
      index_ = info;
      index_fail_.clear();
    }
    RETURN_IF_ERROR(WriteManifest());
  }
  RETURN_IF_ERROR(Flush());  // the index covers the rows inserted so far
  std::lock_guard write(write_mu_);
  ScheduleBuilds();
  return Status::Ok();
}

Status Collection::DropIndex(const std::string& name) {
  std::lock_guard write(write_mu_);
  if (!index_ || index_->name != name) {
    return MilvusError(code::kIndexNotFound, "index not found[indexName=" + name + "]");
  }
  if (loaded_wanted_) {
    return MilvusError(code::kInternal,
                       "index cannot be dropped, collection is loaded, please release it first");
  }
  {
    std::unique_lock lock(state_mu_);
    index_.reset();
    for (auto& seg : segments_) {
      if (!seg->index_key.empty()) stale_objects_.push_back(seg->index_key);
      seg->index_key.clear();
      seg->index_generation = 0;
      seg->index.reset();
    }
  }
  return WriteManifest();
}

// ---- catalogue ---------------------------------------------------------------------------------

Status Collection::Rename(const std::string& new_name) {
  std::lock_guard write(write_mu_);
  {
    std::unique_lock lock(state_mu_);
    name_ = new_name;
  }
  return WriteManifest();
}

Status Collection::Drop() {
  std::lock_guard write(write_mu_);
  dropped_ = true;
  manifest_version_++;
  Json tomb = {{"format", 1}, {"version", manifest_version_}, {"dropped", true}};
  RETURN_IF_ERROR(store_->Put(Prefix() + "manifest/" + Seq(manifest_version_) + ".json", tomb.dump()));
  return store_->DeletePrefix(Prefix());
}

Status Collection::CreatePartition(const std::string& name) {
  std::lock_guard write(write_mu_);
  if (HasPartition(name)) return Status::Ok();  // as Milvus: creating it again is a no-op
  if (name.empty() || name.size() > 255) return MilvusError(code::kInvalidParameter, "invalid partition name");
  {
    std::unique_lock lock(state_mu_);
    partitions_.push_back(name);
  }
  return WriteManifest();
}

Status Collection::DropPartition(const std::string& name) {
  std::lock_guard write(write_mu_);
  if (name == "_default") return MilvusError(code::kInvalidParameter, "default partition cannot be deleted");
  if (!HasPartition(name)) return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + name + "]");
  {
    std::unique_lock lock(state_mu_);
    partitions_.erase(std::find(partitions_.begin(), partitions_.end(), name));
    for (auto it = pk_.begin(); it != pk_.end();) {
      it = it->second.segment->partition == name ? pk_.erase(it) : std::next(it);
    }
    for (auto& seg : segments_) {
      if (seg->partition == name && seg->sealed) stale_objects_.push_back(SegmentPrefix(seg->id));
    }
    segments_.erase(std::remove_if(segments_.begin(), segments_.end(),
                                   [&](auto& s) { return s->partition == name; }),
                    segments_.end());
  }
  return WriteManifest();
}

}  // namespace skyway::vectordb
