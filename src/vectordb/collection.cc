// Collection: in-memory state and the read/write operations on it. Persistence (manifest, WAL,
// sealing, loading, index builds) is in collection_store.cc.
#include "vectordb/collection.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace skyway::vectordb {

std::string Seq(int64_t n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%020" PRId64, n);
  return buf;
}

Collection::Collection(ObjectStore* store, const Tuning& tuning, Scheduler scheduler)
    : store_(store), tuning_(tuning), scheduler_(std::move(scheduler)) {}

Collection::~Collection() = default;

std::string Collection::name() const {
  std::shared_lock lock(state_mu_);
  return name_;
}

std::string Collection::SegmentPrefix(int64_t id) const {
  return Prefix() + "segments/" + std::to_string(id) + "/";
}

Segment* Collection::SegmentById(int64_t id) {
  for (auto& s : segments_) {
    if (s->id == id) return s.get();
  }
  return nullptr;
}

// ---- primary keys ------------------------------------------------------------------------------

namespace {
std::string IntKey(int64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }
}  // namespace

std::string Collection::KeyOf(const Segment& seg, size_t row) const {
  const Column& c = seg.columns[schema_.pk];
  return schema_.pk_field().type == DataType::kInt64 ? IntKey(c.ints[row]) : c.texts[row];
}

std::optional<Collection::Location> Collection::Find(const Json& key) {
  std::string k;
  if (schema_.pk_field().type == DataType::kInt64) {
    if (key.is_number_integer()) {
      k = IntKey(key.get<int64_t>());
    } else if (key.is_string()) {  // Milvus clients may echo the string form of an Int64 id
      auto n = ParseUint64(key.get<std::string>());
      if (!n) return std::nullopt;
      k = IntKey(static_cast<int64_t>(*n));
    } else {
      return std::nullopt;
    }
  } else {
    if (!key.is_string()) return std::nullopt;
    k = key.get<std::string>();
  }
  auto it = pk_.find(k);
  if (it == pk_.end()) return std::nullopt;
  return it->second;
}

void Collection::MarkDeleted(Segment* seg, size_t row) {
  if (seg->deleted[row]) return;
  seg->deleted[row] = 1;
  seg->deleted_count++;
  if (seg->sealed) seg->deletes_dirty = true;
}

Segment* Collection::Growing(const std::string& partition, int64_t seq) {
  for (auto& s : segments_) {
    if (!s->sealed && s->partition == partition) return s.get();
  }
  auto seg = std::make_shared<Segment>();
  seg->id = next_segment_++;
  seg->partition = partition;
  seg->dim = schema_.dim();
  seg->first_seq = seq;
  seg->columns.resize(schema_.fields.size());
  // Room for the whole segment up front (address space only until written): appends never
  // copy what is there.
  size_t row_bytes = schema_.dim() * sizeof(float);
  size_t max_rows = tuning_.segment_bytes / row_bytes + 1;
  if (tuning_.segment_rows > 0) max_rows = std::min(max_rows, tuning_.segment_rows);
  seg->growing.reserve(max_rows * schema_.dim());
  segments_.push_back(std::move(seg));
  return segments_.back().get();
}

void Collection::ApplyInsert(const std::string& partition, Batch&& batch, int64_t seq) {
  Segment* seg = Growing(partition, seq);
  size_t base = seg->rows, n = batch.rows;
  const Column& keys = batch.columns[schema_.pk];
  bool int_pk = schema_.pk_field().type == DataType::kInt64;
  std::vector<std::string> ks;
  ks.reserve(n);
  for (size_t i = 0; i < n; i++) {
    ks.push_back(int_pk ? IntKey(keys.ints[i]) : keys.texts[i]);
    if (int_pk) next_auto_id_ = std::max(next_auto_id_, keys.ints[i] + 1);
  }
  seg->Append(schema_, std::move(batch));
  for (size_t i = 0; i < n; i++) {
    auto [it, inserted] = pk_.try_emplace(ks[i], Location{seg, base + i});
    if (!inserted) {  // the newest row with a key wins
      MarkDeleted(it->second.segment, it->second.row);
      it->second = Location{seg, base + i};
    }
  }
}

size_t Collection::ApplyDelete(const Column& keys) {
  bool int_pk = schema_.pk_field().type == DataType::kInt64;
  size_t n = int_pk ? keys.ints.size() : keys.texts.size(), count = 0;
  for (size_t i = 0; i < n; i++) {
    auto it = pk_.find(int_pk ? IntKey(keys.ints[i]) : keys.texts[i]);
    if (it == pk_.end()) continue;
    MarkDeleted(it->second.segment, it->second.row);
    pk_.erase(it);
    count++;
  }
  return count;
}

size_t Collection::RowCount() {
  std::shared_lock lock(state_mu_);
  return pk_.size();
}

size_t Collection::RowCount(const std::string& partition) {
  std::shared_lock lock(state_mu_);
  size_t n = 0;
  for (auto& seg : segments_) {
    if (seg->partition == partition) n += seg->live_rows();
  }
  return n;
}

// ---- writes ------------------------------------------------------------------------------------

Result<std::vector<Json>> Collection::Insert(const Json& data, const std::string& partition_in,
                                             bool int64_as_number, const FloatLists* floats) {
  std::string partition = partition_in.empty() ? "_default" : partition_in;
  // Rows are parsed before the write lock (inserts of several clients parse in parallel);
  // generated keys count from 0 here and get their base under the lock.
  int64_t auto_id = 0;
  WalRecord rec;
  rec.partition = partition;
  ASSIGN_OR_RETURN(rec.batch, ParseRows(schema_, data, &auto_id, floats));
  std::lock_guard write(write_mu_);
  if (dropped_) return MilvusError(code::kCollectionNotFound, "collection not found");
  if (!HasPartition(partition)) {
    return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + partition + "]");
  }
  if (schema_.auto_id) {
    int64_t base = std::max(next_auto_id_, NowNanos() / 1000);
    for (int64_t& k : rec.batch.columns[schema_.pk].ints) k += base;
  }
  ASSIGN_OR_RETURN(int64_t seq, AppendWal(rec));
  std::vector<Json> ids;
  const Field& pk = schema_.pk_field();
  for (size_t i = 0; i < rec.batch.rows; i++) {
    ids.push_back(ColumnValue(pk, rec.batch.columns[schema_.pk], i, int64_as_number));
  }
  Segment* grown;
  {
    std::unique_lock lock(state_mu_);
    ApplyInsert(partition, std::move(rec.batch), seq);
    grown = Growing(partition, seq);
  }
  size_t bytes = grown->rows * schema_.dim() * sizeof(float);
  if ((tuning_.segment_rows > 0 && grown->rows >= tuning_.segment_rows) ||
      bytes >= tuning_.segment_bytes) {
    RETURN_IF_ERROR(Seal(grown));
  }
  return ids;
}

Result<size_t> Collection::Delete(const std::string& filter_text, const std::string& partition) {
  if (!partition.empty() && !HasPartition(partition)) {
    return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + partition + "]");
  }
  if (filter_text.empty()) return MilvusError(code::kMissingParameter, "filter is required");
  ASSIGN_OR_RETURN(std::unique_ptr<Filter> filter, ParseFilter(filter_text));
  std::lock_guard write(write_mu_);
  WalRecord rec;
  rec.kind = WalRecord::kDelete;
  rec.batch.columns.resize(schema_.fields.size());
  Column& keys = rec.batch.columns[schema_.pk];
  bool int_pk = schema_.pk_field().type == DataType::kInt64;
  std::vector<std::string> parts;
  if (!partition.empty()) parts.push_back(partition);
  if (auto direct = filter->KeysOf(schema_.pk)) {  // `pk in [...]`: look the keys up
    for (const auto& k : *direct) {
      Json key = std::holds_alternative<int64_t>(k) ? Json(std::get<int64_t>(k)) : Json(std::get<std::string>(k));
      auto loc = Find(key);
      if (!loc || !InPartitions(*loc->segment, parts)) continue;
      if (int_pk) keys.ints.push_back(std::get<int64_t>(k));
      else keys.texts.push_back(std::get<std::string>(k));
    }
  } else {
    ScanMatches(*filter, parts, &keys);
  }
  rec.batch.rows = int_pk ? keys.ints.size() : keys.texts.size();
  if (rec.batch.rows == 0) return size_t{0};
  RETURN_IF_ERROR(AppendWal(rec).status());
  size_t count;
  {
    std::unique_lock lock(state_mu_);
    count = ApplyDelete(keys);
  }
  std::vector<std::shared_ptr<Segment>> dirty;
  for (auto& seg : segments_) {
    if (seg->sealed && seg->deletes_dirty) dirty.push_back(seg);
  }
  for (auto& seg : dirty) RETURN_IF_ERROR(MaybeCompact(seg.get()));
  return count;
}

void Collection::ScanMatches(const Filter& filter, const std::vector<std::string>& parts,
                             Column* keys) {
  bool int_pk = schema_.pk_field().type == DataType::kInt64;
  for (auto& seg : segments_) {
    if (!InPartitions(*seg, parts)) continue;
    for (size_t r = 0; r < seg->rows; r++) {
      if (seg->deleted[r] || !filter.Matches(SegmentRow(schema_, *seg, r))) continue;
      if (int_pk) keys->ints.push_back(seg->columns[schema_.pk].ints[r]);
      else keys->texts.push_back(seg->columns[schema_.pk].texts[r]);
    }
  }
}

// ---- reads -------------------------------------------------------------------------------------

Result<std::unique_ptr<Filter>> Collection::ParseFilter(const std::string& text) const {
  auto f = Filter::Parse(text, schema_.FilterFields());
  if (!f.ok()) return MilvusError(code::kInvalidParameter, f.status().message());
  return f;
}

bool Collection::InPartitions(const Segment& seg, const std::vector<std::string>& parts) const {
  return parts.empty() || std::find(parts.begin(), parts.end(), seg.partition) != parts.end();
}

Status Collection::RequireLoaded() {
  if (load_state() != LoadState::kLoaded) {
    return MilvusError(code::kCollectionNotLoaded, "collection not loaded[collection=" + name() + "]");
  }
  return Status::Ok();
}

Result<Collection::Output> Collection::OutputFields(const std::vector<std::string>& names,
                                                    bool star_if_empty, bool as_number) const {
  Output out;
  out.int64_as_number = as_number;
  out.fields.push_back(schema_.pk);
  auto add = [&](int idx) {
    if (std::find(out.fields.begin(), out.fields.end(), idx) == out.fields.end()) {
      out.fields.push_back(idx);
    }
  };
  std::vector<std::string> list = names;
  if (list.empty() && star_if_empty) list.push_back("*");
  for (const std::string& n : list) {
    if (n == "*") {
      for (size_t i = 0; i < schema_.fields.size(); i++) add(static_cast<int>(i));
      out.all_dynamic = schema_.dynamic;
      continue;
    }
    int idx = schema_.Find(n);
    if (idx >= 0) {
      add(idx);
    } else if (schema_.dynamic) {
      out.dynamic_keys.push_back(n);
    } else {
      return MilvusError(code::kInvalidParameter, "field " + n + " not exist");
    }
  }
  return out;
}

Json Collection::RowJson(const Segment& seg, size_t row, const Output& out) const {
  Json j = Json::object();
  if (schema_.dynamic && !seg.meta.empty()) {
    const Json& meta = seg.meta[row];
    if (out.all_dynamic) {
      for (const auto& [k, v] : meta.items()) j[k] = v;
    }
    for (const auto& k : out.dynamic_keys) {
      if (meta.contains(k)) j[k] = meta[k];
    }
  }
  for (int idx : out.fields) {
    const Field& f = schema_.fields[idx];
    if (f.type == DataType::kFloatVector) {
      std::vector<float> v(schema_.dim());
      seg.Vector(row, v.data());
      Json arr = Json::array();
      arr.get_ref<Json::array_t&>().reserve(v.size());
      for (float x : v) arr.push_back(FloatJson(x));
      j[f.name] = std::move(arr);
    } else {
      j[f.name] = ColumnValue(f, seg.columns[idx], row, out.int64_as_number);
    }
  }
  return j;
}

Result<Json> Collection::Query(const QueryRequest& q) {
  RETURN_IF_ERROR(RequireLoaded());
  ASSIGN_OR_RETURN(Output out, OutputFields(q.output_fields, !q.ids.empty(), q.int64_as_number));
  std::unique_ptr<Filter> filter;
  if (!q.filter.empty()) {
    ASSIGN_OR_RETURN(filter, ParseFilter(q.filter));
  } else if (q.ids.empty() && q.limit == 0) {
    return MilvusError(code::kInvalidParameter, "empty expression should be used with limit");
  }
  for (const auto& p : q.partitions) {
    if (!HasPartition(p)) return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + p + "]");
  }
  std::shared_lock lock(state_mu_);
  Json rows = Json::array();
  size_t skipped = 0;
  auto emit = [&](const Segment& seg, size_t r) {
    if (skipped < q.offset) {
      skipped++;
      return true;
    }
    rows.push_back(RowJson(seg, r, out));
    return q.limit == 0 || rows.size() < q.limit;
  };
  std::vector<Json> ids = q.ids;
  if (filter) {
    if (auto direct = filter->KeysOf(schema_.pk)) {  // `pk in [...]`: look the keys up
      for (const auto& k : *direct) {
        ids.push_back(std::holds_alternative<int64_t>(k) ? Json(std::get<int64_t>(k))
                                                         : Json(std::get<std::string>(k)));
      }
      if (ids.empty()) return rows;
    }
  }
  if (!ids.empty()) {
    for (const Json& id : ids) {
      auto loc = Find(id);
      if (loc && InPartitions(*loc->segment, q.partitions) && !emit(*loc->segment, loc->row)) break;
    }
    return rows;
  }
  for (auto& seg : segments_) {
    if (!InPartitions(*seg, q.partitions)) continue;
    for (size_t r = 0; r < seg->rows; r++) {
      if (seg->deleted[r]) continue;
      if (filter && !filter->Matches(SegmentRow(schema_, *seg, r))) continue;
      if (!emit(*seg, r)) return rows;
    }
  }
  return rows;
}

Result<Json> Collection::Search(const SearchRequest& q, std::vector<size_t>* topks) {
  RETURN_IF_ERROR(RequireLoaded());
  ASSIGN_OR_RETURN(Output out, OutputFields(q.output_fields, false, q.int64_as_number));
  std::optional<IndexInfo> info = index();
  if (!info) return MilvusError(code::kIndexNotFound, "index not found[collection=" + name() + "]");
  vector::Metric metric = info->spec.metric;
  if (!q.metric.empty()) {
    auto m = vector::ParseMetric(q.metric);
    if (!m.ok() || *m != metric) {
      return MilvusError(code::kInvalidParameter,
                         std::string("metric type not match: invalid parameter[expected=") +
                             vector::MetricName(metric) + "][actual=" + q.metric + "]");
    }
  }
  std::unique_ptr<Filter> filter;
  if (!q.filter.empty()) {
    ASSIGN_OR_RETURN(filter, ParseFilter(q.filter));
  }
  for (const auto& p : q.partitions) {
    if (!HasPartition(p)) return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + p + "]");
  }
  size_t k = q.offset + q.limit, dim = schema_.dim();
  struct Candidate {
    float score;
    const Segment* seg;
    size_t row;
  };
  std::vector<std::vector<Candidate>> merged(q.nq);
  std::shared_lock lock(state_mu_);
  for (auto& segp : segments_) {
    const Segment& seg = *segp;
    if (!InPartitions(seg, q.partitions) || seg.live_rows() == 0) continue;
    if (!seg.searchable()) return MilvusError(code::kCollectionNotLoaded, "segment not loaded");
    vector::RowFilter rf = [&](int64_t row) {
      return !seg.deleted[row] && (!filter || filter->Matches(SegmentRow(schema_, seg, row)));
    };
    const vector::RowFilter* rfp = (filter || seg.deleted_count > 0) ? &rf : nullptr;
    std::vector<std::vector<vector::Hit>> hits;
    if (seg.index) {
      ASSIGN_OR_RETURN(hits, seg.index->Search(q.queries.data(), q.nq, k, q.params, rfp));
    } else {
      hits = vector::ExactSearch(metric, seg.vectors(), seg.rows, dim, q.queries.data(), q.nq, k, rfp);
    }
    for (size_t i = 0; i < q.nq; i++) {
      for (const auto& h : hits[i]) merged[i].push_back({h.score, &seg, static_cast<size_t>(h.row)});
    }
  }
  bool smaller = vector::SmallerIsCloser(metric);
  Json rows = Json::array();
  for (size_t i = 0; i < q.nq; i++) {
    auto& c = merged[i];
    std::sort(c.begin(), c.end(), [&](const Candidate& a, const Candidate& b) {
      return smaller ? a.score < b.score : a.score > b.score;
    });
    size_t count = 0;
    for (size_t j = q.offset; j < c.size() && count < q.limit; j++, count++) {
      Json row = RowJson(*c[j].seg, c[j].row, out);
      row["distance"] = ShortFloatJson(c[j].score);
      rows.push_back(std::move(row));
    }
    topks->push_back(count);
  }
  return rows;
}

// ---- partitions --------------------------------------------------------------------------------

std::vector<std::string> Collection::Partitions() {
  std::shared_lock lock(state_mu_);
  return partitions_;
}

bool Collection::HasPartition(const std::string& name) {
  std::shared_lock lock(state_mu_);
  return std::find(partitions_.begin(), partitions_.end(), name) != partitions_.end();
}

}  // namespace skyway::vectordb
