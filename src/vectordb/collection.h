// A collection: its schema, partitions, segments, primary-key map, write-ahead log, manifest and
// index. All state that must survive a restart is in the store: manifests (one JSON object per
// version; the newest is the truth), sealed segments as raw columns, index objects, and WAL
// records for rows not yet sealed. Private to vectordb/.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vector/vector.h"
#include "vectordb/filter.h"
#include "vectordb/objects.h"
#include "vectordb/schema.h"
#include "vectordb/segment.h"

namespace skyway::vectordb {

// A sequence or version number as a fixed-width key part ("00000000000000000042"), so keys
// list in numeric order.
std::string Seq(int64_t n);

struct Tuning {
  size_t segment_rows = 0;           // seal at this many rows (0: by bytes only)
  size_t segment_bytes = 512 << 20;  // seal when the vectors reach this size
  double compact_ratio = 0.5;        // rewrite a sealed segment when this share is deleted
  int build_threads = 0;             // index build threads (0: all cores)
  uint64_t build_memory = 0;         // GPU_CAGRA build working memory (see Options)
};

struct IndexInfo {
  std::string name;
  std::string field;
  vector::IndexSpec spec;
  int64_t generation = 0;  // bumped on every create, so stale builds are dropped
};

enum class LoadState { kNotLoad, kLoading, kLoaded };

// Runs background work (index builds, loads) one job at a time.
using Scheduler = std::function<void(std::function<void()>)>;

struct SearchRequest {
  std::vector<float> queries;  // nq x dim
  size_t nq = 0;
  size_t limit = 10, offset = 0;
  std::string filter;
  std::vector<std::string> partitions;  // empty: all
  std::vector<std::string> output_fields;
  vector::Params params;
  std::string metric;  // empty: the index's
  bool int64_as_number = false;
};

struct QueryRequest {
  std::string filter;                    // empty: every row (then limit is required)
  std::vector<Json> ids;                 // get: primary keys instead of a filter
  std::vector<std::string> partitions;
  std::vector<std::string> output_fields;
  size_t limit = 0, offset = 0;          // limit 0: no limit
  bool int64_as_number = false;
};

class Collection : public std::enable_shared_from_this<Collection> {
 public:
  static Result<std::shared_ptr<Collection>> Create(ObjectStore* store, const Tuning& tuning,
                                                    Scheduler scheduler, std::string name,
                                                    Schema schema);
  // Reopens from the newest manifest under collections/<uid>/ and replays the WAL. nullptr when
  // the collection was dropped (its leftovers are removed).
  static Result<std::shared_ptr<Collection>> Open(ObjectStore* store, const Tuning& tuning,
                                                  Scheduler scheduler, const std::string& uid);
  ~Collection();

  std::string name() const;
  const std::string& uid() const { return uid_; }
  const Schema& schema() const { return schema_; }
  int64_t created_ms() const { return created_ms_; }

  // Inserts rows (a primary key already present is replaced: the old row gets a tombstone).
  // Durable when it returns. Returns the primary keys in order.
  Result<std::vector<Json>> Insert(const Json& data, const std::string& partition,
                                   bool int64_as_number, const FloatLists* floats = nullptr);
  // Deletes rows matching filter (in partition, or all). Returns how many.
  Result<size_t> Delete(const std::string& filter, const std::string& partition);
  Result<Json> Query(const QueryRequest& request);
  // Flat rows (nq x hits) and per-query counts.
  Result<Json> Search(const SearchRequest& request, std::vector<size_t>* topks);

  size_t RowCount();
  size_t RowCount(const std::string& partition);
  Status Rename(const std::string& new_name);
  // Deletes every object of the collection.
  Status Drop();
  // Seals non-empty growing segments.
  Status Flush();

  Status CreateIndex(IndexInfo info);
  Status DropIndex(const std::string& name);
  std::optional<IndexInfo> index();
  // Rows in sealed segments with and without a built index, and why a build failed.
  void IndexProgress(size_t* total, size_t* indexed, size_t* pending, std::string* fail);

  Status Load();  // starts loading; state goes kLoading, then kLoaded
  Status Release();
  LoadState load_state();

  Status CreatePartition(const std::string& name);
  Status DropPartition(const std::string& name);
  std::vector<std::string> Partitions();
  bool HasPartition(const std::string& name);

 private:
  struct Location {
    Segment* segment;
    size_t row;
  };

  Collection(ObjectStore* store, const Tuning& tuning, Scheduler scheduler);
  std::string Prefix() const { return "collections/" + uid_ + "/"; }
  std::string SegmentPrefix(int64_t id) const;

  // collection_store.cc: persistence.
  Status WriteManifest();  // REQUIRES: write_mu_ held
  Status ReadManifest(const Json& m);
  Status LoadSegmentColumns(Segment* seg, const Json& entry);
  Status ReplayWal();
  Result<int64_t> AppendWal(const WalRecord& record);  // REQUIRES: write_mu_ held
  Status Seal(Segment* seg);                           // REQUIRES: write_mu_ held
  Status TrimWal();
  Status MaybeCompact(Segment* seg);                   // REQUIRES: write_mu_ held
  void ScheduleBuilds();
  void BuildSegmentIndex(int64_t segment_id, int64_t generation);
  void LoadSegments();
  Status LoadSegment(Segment* seg);

  // collection.cc: in-memory state.
  void ApplyInsert(const std::string& partition, Batch&& batch, int64_t seq);
  size_t ApplyDelete(const Column& keys);
  // Primary keys of the live rows in partitions (all when empty) that match filter.
  void ScanMatches(const Filter& filter, const std::vector<std::string>& parts, Column* keys);
  Segment* Growing(const std::string& partition, int64_t seq);
  std::optional<Location> Find(const Json& key);
  std::string KeyOf(const Segment& seg, size_t row) const;
  void MarkDeleted(Segment* seg, size_t row);
  Segment* SegmentById(int64_t id);
  struct Output {
    std::vector<int> fields;  // schema field indexes (the primary key first)
    bool all_dynamic = false;
    std::vector<std::string> dynamic_keys;
    bool int64_as_number = false;
  };
  Result<Output> OutputFields(const std::vector<std::string>& names, bool star_if_empty,
                              bool int64_as_number) const;
  Json RowJson(const Segment& seg, size_t row, const Output& out) const;
  Status RequireLoaded();
  Result<std::unique_ptr<Filter>> ParseFilter(const std::string& text) const;
  bool InPartitions(const Segment& seg, const std::vector<std::string>& partitions) const;

  ObjectStore* store_;
  // Reused for WAL records of at least kWalBufferMin bytes (guarded by write_mu_).
  static constexpr size_t kWalBufferMin = 256 << 10;
  std::unique_ptr<client::Buffer> wal_buffer_;
  Tuning tuning_;
  Scheduler scheduler_;
  std::string uid_;
  Schema schema_;
  int64_t created_ms_ = 0;

  // write_mu_ serializes writers (insert, delete, seal, manifest, index attach); state_mu_
  // guards what readers see, taken exclusively only for short in-memory updates.
  std::mutex write_mu_;
  mutable std::shared_mutex state_mu_;
  std::string name_;
  std::vector<std::string> partitions_;
  std::vector<std::shared_ptr<Segment>> segments_;
  std::vector<int64_t> wal_seqs_;  // WAL records in the store, oldest first
  std::unordered_map<std::string, Location> pk_;  // key: KeyOf()
  std::optional<IndexInfo> index_;
  std::string index_fail_;
  LoadState load_state_ = LoadState::kNotLoad;
  bool loaded_wanted_ = false;
  int64_t manifest_version_ = 0;
  int64_t next_seq_ = 1;
  int64_t next_segment_ = 1;
  int64_t next_auto_id_ = 0;
  std::vector<std::string> stale_objects_;  // deleted after the next manifest (a '/' suffix: prefix)
  std::atomic<bool> dropped_{false};
};

}  // namespace skyway::vectordb
