// Collection persistence: manifests, the write-ahead log, sealing, compaction, reopening.
//
// Invariant (crash safety): the newest manifest names every sealed segment and its tombstones,
// and `wal_next`, the first WAL record whose rows are in no sealed segment. Every object a
// manifest names is written before the manifest; objects are removed only after a manifest no
// longer names them. So a crash at any point reopens to the newest manifest plus the WAL after
// it: every acknowledged insert and delete is there.
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "vectordb/collection.h"

namespace skyway::vectordb {
namespace {

int64_t NowMs() { return NowNanos() / 1'000'000; }

}  // namespace

Result<std::shared_ptr<Collection>> Collection::Create(ObjectStore* store, const Tuning& tuning,
                                                       Scheduler scheduler, std::string name,
                                                       Schema schema) {
  std::shared_ptr<Collection> c(new Collection(store, tuning, std::move(scheduler)));
  c->uid_ = HexEncode(RandomBytes(8));
  c->name_ = std::move(name);
  c->schema_ = std::move(schema);
  c->partitions_ = {"_default"};
  c->created_ms_ = NowMs();
  std::lock_guard write(c->write_mu_);
  RETURN_IF_ERROR(c->WriteManifest());
  return c;
}

Status Collection::WriteManifest() {
  int64_t version = manifest_version_ + 1;
  Json segs = Json::array();
  int64_t wal_next = next_seq_;
  for (auto& seg : segments_) {
    if (!seg->sealed) {
      if (seg->rows > 0 && seg->first_seq > 0) wal_next = std::min(wal_next, seg->first_seq);
      continue;
    }
    if (seg->deletes_dirty) {
      std::string rows;
      for (uint32_t r = 0; r < seg->rows; r++) {
        if (seg->deleted[r]) rows.append(reinterpret_cast<const char*>(&r), sizeof r);
      }
      std::string key = SegmentPrefix(seg->id) + "deletes-" + Seq(version) + ".u32";
      RETURN_IF_ERROR(store_->Put(key, rows));
      if (!seg->deletes_key.empty()) stale_objects_.push_back(seg->deletes_key);
      seg->deletes_key = key;
      seg->deletes_dirty = false;
    }
    segs.push_back({{"id", seg->id}, {"partition", seg->partition}, {"rows", seg->rows},
                    {"deleted", seg->deleted_count}, {"deletes", seg->deletes_key},
                    {"index", seg->index_key}, {"index_generation", seg->index_generation}});
  }
  Json index = nullptr;
  if (index_) {
    index = {{"name", index_->name}, {"field", index_->field}, {"type", index_->spec.type},
             {"metric", vector::MetricName(index_->spec.metric)},
             {"params", index_->spec.params}, {"generation", index_->generation}};
  }
  Json m = {{"format", 1}, {"version", version}, {"uid", uid_}, {"name", name_},
            {"created_ms", created_ms_}, {"schema", SchemaToJson(schema_)},
            {"partitions", partitions_}, {"index", index}, {"loaded", loaded_wanted_},
            {"wal_next", wal_next}, {"next_segment", next_segment_},
            {"next_auto_id", next_auto_id_}, {"segments", segs}};
  RETURN_IF_ERROR(store_->Put(Prefix() + "manifest/" + Seq(version) + ".json", m.dump()));
  manifest_version_ = version;
  // Only now may what the previous manifests named go.
  if (version > 2) stale_objects_.push_back(Prefix() + "manifest/" + Seq(version - 2) + ".json");
  for (const auto& key : stale_objects_) {
    Status st = key.back() == '/' ? store_->DeletePrefix(key) : store_->Delete(key);
    if (!st.ok() && st.code() != Code::kNotFound) LogWarn("vectordb: cannot remove " + key + ": " + st.message());
  }
  stale_objects_.clear();
  while (!wal_seqs_.empty() && wal_seqs_.front() < wal_next) {
    (void)store_->Delete(Prefix() + "wal/" + Seq(wal_seqs_.front()));
    wal_seqs_.erase(wal_seqs_.begin());
  }
  return Status::Ok();
}

Result<int64_t> Collection::AppendWal(const WalRecord& record) {
  int64_t seq = next_seq_++;
  std::string key = Prefix() + "wal/" + Seq(seq);
  WalImage image = EncodeWalImage(schema_, record);
  if (image.size() < kWalBufferMin) {
    RETURN_IF_ERROR(store_->Put(key, EncodeWal(schema_, record)));
  } else {
    // A large record is assembled in memory from the client library, so the PUT takes the
    // direct path when the store offers it; the buffer is kept for the next one.
    if (!wal_buffer_ || wal_buffer_->size() < image.size()) {
      wal_buffer_.reset();
      ASSIGN_OR_RETURN(wal_buffer_, store_->Allocate(image.size() + image.size() / 4));
    }
    image.CopyTo(wal_buffer_->data());
    RETURN_IF_ERROR(store_->Put(key, std::string_view(wal_buffer_->data(), image.size())));
  }
  wal_seqs_.push_back(seq);
  // Bound the log: a manifest lets the records that only carried deletes go.
  if (wal_seqs_.size() > 512) RETURN_IF_ERROR(WriteManifest());
  return seq;
}

Status Collection::Seal(Segment* seg) {
  if (seg->sealed || seg->rows == 0) return Status::Ok();
  std::string prefix = SegmentPrefix(seg->id);
  size_t bytes = seg->rows * seg->dim * sizeof(float);
  ASSIGN_OR_RETURN(std::unique_ptr<client::Buffer> buffer, store_->Allocate(bytes));
  memcpy(buffer->data(), seg->growing.data(), bytes);
  RETURN_IF_ERROR(store_->PutBuffer(prefix + "vectors.f32", *buffer, bytes));
  for (size_t i = 0; i < schema_.fields.size(); i++) {
    if (static_cast<int>(i) == schema_.vector) continue;
    RETURN_IF_ERROR(store_->Put(prefix + "fields/" + schema_.fields[i].name,
                                EncodeColumn(schema_.fields[i].type, seg->columns[i])));
  }
  if (schema_.dynamic) RETURN_IF_ERROR(store_->Put(prefix + "meta.json", EncodeDocs(seg->meta)));
  {
    std::unique_lock lock(state_mu_);
    seg->sealed = true;
    if (loaded_wanted_) seg->buffer = std::move(buffer);
    seg->growing.clear();
    seg->growing.shrink_to_fit();
    seg->deletes_dirty = seg->deleted_count > 0;
  }
  RETURN_IF_ERROR(WriteManifest());
  LogInfo("vectordb: " + name_ + ": sealed segment " + std::to_string(seg->id) + " (" +
          std::to_string(seg->rows) + " rows)");
  ScheduleBuilds();
  return Status::Ok();
}

Status Collection::Flush() {
  std::lock_guard write(write_mu_);
  std::vector<Segment*> growing;
  for (auto& s : segments_) {
    if (!s->sealed && s->rows > 0) growing.push_back(s.get());
  }
  for (Segment* s : growing) RETURN_IF_ERROR(Seal(s));
  return Status::Ok();
}

// Rewrites a sealed segment whose deleted share passed the threshold: its live rows become a
// new segment (sealed, indexed afresh); the old one goes once the manifest no longer names it.
Status Collection::MaybeCompact(Segment* seg) {
  if (!seg->sealed || seg->deleted_count < tuning_.compact_ratio * seg->rows) return Status::Ok();
  std::shared_ptr<client::Buffer> temp;
  if (!seg->searchable()) {
    ASSIGN_OR_RETURN(temp, store_->GetBuffer(SegmentPrefix(seg->id) + "vectors.f32"));
  }
  auto out = std::make_shared<Segment>();
  out->id = next_segment_++;
  out->partition = seg->partition;
  out->dim = seg->dim;
  Batch b;
  b.columns.resize(schema_.fields.size());
  std::vector<float> v(seg->dim);
  std::vector<std::string> keys;
  for (size_t r = 0; r < seg->rows; r++) {
    if (seg->deleted[r]) continue;
    if (temp) memcpy(v.data(), temp->data() + r * seg->dim * sizeof(float), seg->dim * sizeof(float));
    else seg->Vector(r, v.data());
    b.vectors.insert(b.vectors.end(), v.begin(), v.end());
    for (size_t i = 0; i < b.columns.size(); i++) {
      const Column& c = seg->columns[i];
      if (!c.ints.empty()) b.columns[i].ints.push_back(c.ints[r]);
      if (!c.reals.empty()) b.columns[i].reals.push_back(c.reals[r]);
      if (!c.texts.empty()) b.columns[i].texts.push_back(c.texts[r]);
      if (!c.docs.empty()) b.columns[i].docs.push_back(c.docs[r]);
    }
    if (schema_.dynamic && !seg->meta.empty()) b.meta.push_back(seg->meta[r]);
    keys.push_back(KeyOf(*seg, r));
    b.rows++;
  }
  {
    std::unique_lock lock(state_mu_);
    out->Append(schema_, std::move(b));
    for (size_t i = 0; i < keys.size(); i++) pk_[keys[i]] = Location{out.get(), i};
    stale_objects_.push_back(SegmentPrefix(seg->id));
    int64_t old_id = seg->id;
    segments_.erase(std::remove_if(segments_.begin(), segments_.end(),
                                   [&](auto& s) { return s->id == old_id; }),
                    segments_.end());
    if (out->rows > 0) segments_.push_back(out);
  }
  LogInfo("vectordb: " + name_ + ": compacted a segment into " + std::to_string(out->rows) + " rows");
  if (out->rows == 0) return WriteManifest();
  return Seal(out.get());
}

}  // namespace skyway::vectordb
