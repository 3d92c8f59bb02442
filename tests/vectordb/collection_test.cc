// Collection over a real store: an in-process S3 service on 127.0.0.1:0 over a local backend in
// a temp dir, reached through the client library (ObjectStore). Inserts, deletes, seals, FLAT
// index builds and loads, search against the exact answer, compaction, WAL replay, reopen, drop.
#include "vectordb/collection.h"

#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "s3/s3.h"

namespace skyway::vectordb {
namespace {

namespace fs = std::filesystem;

constexpr size_t kDim = 8;

// Runs scheduled jobs on one thread, in order, as the service's worker does. (Jobs take the
// collection's write lock, so an inline scheduler would deadlock in CreateIndex/Seal.)
class Worker {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Scheduler scheduler() {
    return [this](std::function<void()> job) {
      {
        std::lock_guard lock(mu_);
        jobs_.push_back(std::move(job));
      }
      cv_.notify_all();
    };
  }
  // Waits until every job scheduled so far (and any they scheduled) has run.
  void Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      lock.unlock();
      job();
      job = nullptr;  // drops what it captured (the collection) before we report idle
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

std::vector<float> Vec(int64_t i) {  // exact in float32 and in the shortest JSON form
  std::vector<float> v(kDim);
  for (size_t j = 0; j < kDim; j++) v[j] = static_cast<float>(i) + static_cast<float>(j) / 8;
  return v;
}

Json Rows(int64_t from, int64_t to, const std::string& tag_prefix = "t") {
  Json rows = Json::array();
  for (int64_t i = from; i < to; i++) {
    rows.push_back({{"id", i},
                    {"v", Vec(i)},
                    {"tag", tag_prefix + std::to_string(i)},
                    {"score", i * 0.25},
                    {"doc", {{"k", i}, {"l", {i, "x"}}}},
                    {"color", i % 2 ? "red" : "blue"}});
  }
  return rows;
}

// One S3 service for the suite (its local backend is slow to open); each test has its own
// collections (their keys are under collections/<uid>/), store client and worker.
class CollectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("skyway-vdb-" + HexEncode(RandomBytes(6)));
    backend_ = std::move(store::OpenLocalBackend(dir_.string())).value();
    s3::Config config;
    config.credentials.push_back({"AK", "SK"});
    service_ = std::make_unique<s3::Service>(backend_.get(), config);
    server_ = std::make_unique<http::Server>(
        [](http::Request& q, http::Response& r) { service_->Handle(q, r); },
        &s3::Service::FormatProtocolError);
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0).ok());
    thread_ = std::thread([] { server_->Run(); });
  }
  static void TearDownTestSuite() {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    service_.reset();
    backend_.reset();
    fs::remove_all(dir_);
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    client::Options o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    o.access_key = "AK";
    o.secret_key = "SK";
    o.direct = false;
    auto store = ObjectStore::Open(o, "vdb");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    worker_ = std::make_unique<Worker>();
    tuning_.segment_rows = 1000;
    tuning_.build_threads = 1;
  }
  void TearDown() override {
    worker_.reset();
    store_.reset();
  }

  std::shared_ptr<Collection> Create() {
    auto schema = SchemaFromCreateRequest(Json::parse(R"({"schema": {"enableDynamicField": true,
        "fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
          {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 8}},
          {"fieldName": "tag", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
          {"fieldName": "score", "dataType": "Double"},
          {"fieldName": "doc", "dataType": "JSON"}]}})"));
    EXPECT_TRUE(schema.ok()) << schema.status().ToString();
    auto c = Collection::Create(store_.get(), tuning_, worker_->scheduler(), "c", *schema);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

  std::shared_ptr<Collection> Reopen(std::shared_ptr<Collection>& old) {
    worker_->Drain();
    std::string uid = old->uid();
    old.reset();
    auto c = Collection::Open(store_.get(), tuning_, worker_->scheduler(), uid);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    worker_->Drain();
    return c.ok() ? *c : nullptr;
  }

  void Insert(Collection& c, const Json& rows) {
    auto ids = c.Insert(rows, "", true);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    ASSERT_EQ(ids->size(), rows.size());
  }

  size_t Delete(Collection& c, const std::string& filter) {
    auto n = c.Delete(filter, "");
    EXPECT_TRUE(n.ok()) << filter << ": " << n.status().ToString();
    return n.ok() ? *n : 0;
  }

  // FLAT index, loaded, every build and load done.
  void IndexAndLoad(Collection& c) {
    IndexInfo info;
    info.name = "v_idx";
    info.field = "v";
    info.spec.type = "FLAT";
    info.spec.metric = vector::Metric::kL2;
    ASSERT_TRUE(c.CreateIndex(info).ok());
    ASSERT_TRUE(c.Load().ok());
    worker_->Drain();
    ASSERT_EQ(c.load_state(), LoadState::kLoaded);
  }

  std::vector<std::string> Keys(const Collection& c, const std::string& under = "") {
    auto keys = store_->List("collections/" + c.uid() + "/" + under);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    return keys.ok() ? *keys : std::vector<std::string>();
  }

  size_t IndexObjects(const Collection& c) {
    size_t n = 0;
    for (const auto& k : Keys(c, "segments/")) n += k.find("/index/") != std::string::npos;
    return n;
  }

  // Ids of the nearest rows to row target's vector shifted by 0.1 (so no two rows tie), nearest
  // first; checks each hit's distance against the exact one.
  std::vector<int64_t> Nearest(Collection& c, int64_t target, size_t limit) {
    SearchRequest q;
    q.queries = Vec(target);
    for (float& x : q.queries) x += 0.1f;
    q.nq = 1;
    q.limit = limit;
    q.output_fields = {"tag"};
    q.int64_as_number = true;
    std::vector<size_t> topks;
    auto rows = c.Search(q, &topks);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<int64_t> ids;
    if (!rows.ok()) return ids;
    EXPECT_EQ(topks, std::vector<size_t>{rows->size()});
    for (const Json& r : *rows) {
      int64_t id = r["id"].get<int64_t>();
      ids.push_back(id);
      double d = 0;
      for (size_t j = 0; j < kDim; j++) d += std::pow(Vec(id)[j] - q.queries[j], 2);
      EXPECT_NEAR(r["distance"].get<double>(), d, 1e-3 * std::max(1.0, d)) << id;
      EXPECT_TRUE(r["tag"].is_string()) << r.dump();
    }
    return ids;
  }

  // Every live row, by id, with all its fields.
  std::map<int64_t, Json> AllRows(Collection& c) {
    QueryRequest q;
    q.filter = "id >= -1000000";
    q.output_fields = {"*"};
    q.int64_as_number = true;
    auto rows = c.Query(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<int64_t, Json> out;
    if (rows.ok()) {
      for (const Json& r : *rows) out[r["id"].get<int64_t>()] = r;
    }
    return out;
  }

  // The live rows are exactly `ids`, each with the values Rows() gave it.
  void ExpectRows(Collection& c, const std::set<int64_t>& ids, const std::string& tag_prefix = "t",
                  const std::set<int64_t>& retagged = {}) {
    std::map<int64_t, Json> rows = AllRows(c);
    std::set<int64_t> got;
    for (auto& [id, r] : rows) got.insert(id);
    EXPECT_EQ(got, ids);
    EXPECT_EQ(c.RowCount(), ids.size());
    for (auto& [id, r] : rows) {
      Json want = Rows(id, id + 1, retagged.count(id) ? tag_prefix : "t")[0];
      ASSERT_EQ(r["v"].size(), kDim) << r.dump();
      for (size_t j = 0; j < kDim; j++) EXPECT_EQ(r["v"][j].get<float>(), Vec(id)[j]) << id;
      EXPECT_EQ(r["tag"], want["tag"]) << id;
      EXPECT_EQ(r["score"], want["score"]) << id;
      EXPECT_EQ(r["doc"], want["doc"]) << id;
      EXPECT_EQ(r["color"], want["color"]) << id;
    }
  }

  static inline fs::path dir_;
  static inline std::unique_ptr<store::Backend> backend_;
  static inline std::unique_ptr<s3::Service> service_;
  static inline std::unique_ptr<http::Server> server_;
  static inline std::thread thread_;
  std::unique_ptr<ObjectStore> store_;
  Tuning tuning_;
  std::unique_ptr<Worker> worker_;
};

std::set<int64_t> Range(int64_t from, int64_t to, std::set<int64_t> except = {}) {
  std::set<int64_t> s;
  for (int64_t i = from; i < to; i++) {
    if (!except.count(i)) s.insert(i);
  }
  return s;
}

TEST_F(CollectionTest, SearchAfterDeleteSealAndIndexThenReopen) {
  tuning_.compact_ratio = 0.9;
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 20));
  EXPECT_EQ(Delete(*c, "id in [3, 4]"), 2u);  // growing rows
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(Delete(*c, "tag == \"t5\""), 1u);  // a sealed row, by scan
  EXPECT_EQ(Delete(*c, "id in [3, 99]"), 0u);
  IndexAndLoad(*c);
  size_t total, indexed, pending;
  std::string fail;
  c->IndexProgress(&total, &indexed, &pending, &fail);
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(pending, 0u);
  EXPECT_EQ(fail, "");

  std::set<int64_t> live = Range(0, 20, {3, 4, 5});
  ExpectRows(*c, live);
  EXPECT_EQ(Nearest(*c, 7, 3), (std::vector<int64_t>{7, 8, 6}));
  EXPECT_EQ(Nearest(*c, 4, 3), (std::vector<int64_t>{6, 2, 7}));  // 3, 4, 5 are deleted
  std::vector<int64_t> all = Nearest(*c, 4, 100);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), live);
  EXPECT_EQ(IndexObjects(*c), 1u);

  c = Reopen(c);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->load_state(), LoadState::kLoaded);
  ExpectRows(*c, live);
  EXPECT_EQ(Nearest(*c, 4, 3), (std::vector<int64_t>{6, 2, 7}));
  EXPECT_EQ(Nearest(*c, 19, 1), std::vector<int64_t>{19});
  EXPECT_EQ(IndexObjects(*c), 1u);  // loaded from the store, not rebuilt
  ASSERT_TRUE(c->index().has_value());
  EXPECT_EQ(c->index()->spec.type, "FLAT");
}

// A GPU_CAGRA build whose segment needs more than build_memory: the rows come from the store in
// ranged GETs a block at a time (on the CPU here, into device memory on a GPU node), and the graph
// serves exact neighbours once loaded. A limit too small for any block fails the build clearly.
TEST_F(CollectionTest, GpuCagraBuildStreamsTheSegmentFromTheStore) {
  tuning_.segment_rows = 2000;
  tuning_.build_memory = 200 << 10;  // blocks of a few hundred rows at degree 16
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 2000));  // sealed at 2000 rows
  Insert(*c, Rows(2000, 2500));
  ASSERT_TRUE(c->Flush().ok());
  c = Reopen(c);  // not loaded: the sealed segments' vectors are only in the store
  ASSERT_NE(c, nullptr);
  IndexInfo info;
  info.name = "v_idx";
  info.field = "v";
  info.spec = {"GPU_CAGRA", vector::Metric::kL2,
               {{"intermediate_graph_degree", "16"}, {"graph_degree", "8"}}};
  ASSERT_TRUE(c->CreateIndex(info).ok());
  worker_->Drain();
  size_t total, indexed, pending;
  std::string fail;
  c->IndexProgress(&total, &indexed, &pending, &fail);
  EXPECT_EQ(fail, "");
  EXPECT_EQ(total, 2500u);
  EXPECT_EQ(pending, 0u);
  EXPECT_EQ(IndexObjects(*c), 2u);
  ASSERT_TRUE(c->Load().ok());
  worker_->Drain();
  ASSERT_EQ(c->load_state(), LoadState::kLoaded);
  EXPECT_EQ(Nearest(*c, 1000, 5), (std::vector<int64_t>{1000, 1001, 999, 1002, 998}));
  EXPECT_EQ(Nearest(*c, 2300, 3), (std::vector<int64_t>{2300, 2301, 2299}));

  tuning_.build_memory = 16 << 10;  // not even two blocks of 256 rows
  auto d = Create();
  ASSERT_NE(d, nullptr);
  Insert(*d, Rows(0, 2000));
  ASSERT_TRUE(d->Flush().ok());
  d = Reopen(d);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->CreateIndex(info).ok());
  worker_->Drain();
  d->IndexProgress(&total, &indexed, &pending, &fail);
  EXPECT_EQ(indexed, 0u);
  EXPECT_NE(fail.find("of working memory (blocks of 256 rows); the limit is 16.4 KB"), std::string::npos) << fail;
}

TEST_F(CollectionTest, CompactionRewritesASegmentPastTheRatio) {
  tuning_.compact_ratio = 0.5;
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 10));
  IndexAndLoad(*c);            // seals segment 1 (10 rows) and indexes it
  Insert(*c, Rows(100, 102));  // growing rows: untouched by the compaction
  std::vector<std::string> before = Keys(*c, "segments/");
  ASSERT_FALSE(before.empty());
  std::string old_prefix =
      before[0].substr(0, before[0].find('/', before[0].find("segments/") + 9) + 1);
  ASSERT_EQ(IndexObjects(*c), 1u);

  EXPECT_EQ(Delete(*c, "id < 4"), 4u);  // 4 of 10: under the ratio
  EXPECT_FALSE(store_->List(old_prefix)->empty());
  EXPECT_EQ(Delete(*c, "id in [4]"), 1u);  // 5 of 10: rewritten
  EXPECT_TRUE(store_->List(old_prefix)->empty()) << old_prefix;
  worker_->Drain();
  std::vector<std::string> after = Keys(*c, "segments/");
  ASSERT_FALSE(after.empty());
  for (const auto& k : after) EXPECT_EQ(k.rfind(old_prefix, 0), std::string::npos) << k;
  EXPECT_EQ(IndexObjects(*c), 1u);  // the new segment's, built afresh

  std::set<int64_t> live = Range(5, 10);
  live.insert({100, 101});
  ExpectRows(*c, live);
  EXPECT_EQ(Nearest(*c, 2, 3), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(Nearest(*c, 8, 1), std::vector<int64_t>{8});
  EXPECT_EQ(Nearest(*c, 100, 1), std::vector<int64_t>{100});

  c = Reopen(c);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->load_state(), LoadState::kLoaded);
  ExpectRows(*c, live);
  EXPECT_EQ(Nearest(*c, 2, 3), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(IndexObjects(*c), 1u);
  EXPECT_TRUE(store_->List(old_prefix)->empty());

  // Deleting every row of the rewritten segment leaves no segment for it at all.
  EXPECT_EQ(Delete(*c, "id < 50"), 5u);
  worker_->Drain();
  ExpectRows(*c, {100, 101});
  EXPECT_EQ(IndexObjects(*c), 0u);
  c = Reopen(c);
  ASSERT_NE(c, nullptr);
  ExpectRows(*c, {100, 101});
}

TEST_F(CollectionTest, CompactionOfAReleasedSegmentReadsItsVectorsFromTheStore) {
  tuning_.compact_ratio = 0.5;
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 10));
  IndexAndLoad(*c);
  ASSERT_TRUE(c->Release().ok());
  EXPECT_EQ(Delete(*c, "color == \"blue\""), 5u);  // a dynamic key; the even ids
  worker_->Drain();
  ASSERT_TRUE(c->Load().ok());
  worker_->Drain();
  ASSERT_EQ(c->load_state(), LoadState::kLoaded);
  ExpectRows(*c, {1, 3, 5, 7, 9});
  EXPECT_EQ(Nearest(*c, 4, 2), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(IndexObjects(*c), 1u);
  c = Reopen(c);
  ASSERT_NE(c, nullptr);
  ExpectRows(*c, {1, 3, 5, 7, 9});
}

TEST_F(CollectionTest, RowsAfterTheLastSealComeBackFromTheWal) {
  tuning_.compact_ratio = 0.9;
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 5));
  IndexAndLoad(*c);                           // rows 0..4 sealed
  Insert(*c, Rows(5, 8));                     // rows 5..7 only in the WAL
  Insert(*c, Rows(2, 3, "new"));              // replaces a sealed row
  EXPECT_EQ(Delete(*c, "id in [1, 6]"), 2u);  // one sealed, one growing
  std::set<int64_t> live = {0, 2, 3, 4, 5, 7};
  ExpectRows(*c, live, "new", {2});
  EXPECT_FALSE(Keys(*c, "wal/").empty());

  for (int round = 0; round < 2; round++) {  // replaying twice gives the same state
    c = Reopen(c);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->load_state(), LoadState::kLoaded);
    ExpectRows(*c, live, "new", {2});
    EXPECT_EQ(Nearest(*c, 6, 3), (std::vector<int64_t>{7, 5, 4}));
    EXPECT_EQ(Nearest(*c, 1, 1), std::vector<int64_t>{2});
  }
  // Sealing the replayed rows lets their WAL records go.
  ASSERT_TRUE(c->Flush().ok());
  worker_->Drain();
  EXPECT_TRUE(Keys(*c, "wal/").empty());
  c = Reopen(c);
  ASSERT_NE(c, nullptr);
  ExpectRows(*c, live, "new", {2});
}

TEST_F(CollectionTest, DropRemovesEveryObject) {
  auto c = Create();
  ASSERT_NE(c, nullptr);
  Insert(*c, Rows(0, 6));
  IndexAndLoad(*c);
  Insert(*c, Rows(6, 8));
  EXPECT_EQ(Delete(*c, "id == 1"), 1u);
  EXPECT_FALSE(Keys(*c).empty());
  ASSERT_TRUE(c->Drop().ok());
  worker_->Drain();
  EXPECT_EQ(Keys(*c), std::vector<std::string>());
  std::string uid = c->uid();
  c.reset();
  auto reopened = Collection::Open(store_.get(), tuning_, worker_->scheduler(), uid);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*reopened, nullptr);
}

}  // namespace
}  // namespace skyway::vectordb
