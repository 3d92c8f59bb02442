// bench_vectordb: the parts of `skyway bench vectordb` shared by its files, private to cli/: a
// minimal keep-alive HTTP/1.1 client for the Milvus REST v2 API (cheap enough that the load
// generator is not what is measured), the `skyway vectordb` child it measures, and the JSON
// bodies it sends.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/dataset.h"
#include "common/common.h"

namespace skyway::cli::vdbbench {

// One keep-alive connection. POSTs to /v2/vectordb/<path> with `Authorization: Bearer AK:SK`;
// answers must be framed by Content-Length (the vectordb server always sends it). Not
// thread-safe: one per client thread.
class RestClient {
 public:
  // endpoint: "http://HOST:PORT". Errors: kInvalidArgument (endpoint), kIOError (connect).
  static Result<std::unique_ptr<RestClient>> Connect(const std::string& endpoint,
                                                     const std::string& access_key,
                                                     const std::string& secret_key);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // Sends the concatenation of pieces as the body; *answer receives the response body.
  // Reconnects once when the server closed the idle connection. Errors: kIOError (socket,
  // malformed answer, HTTP status other than 200).
  Status Post(std::string_view path, const std::vector<std::string_view>& pieces,
              std::string* answer);
  // Post, then the Milvus `code` of the answer must be 0. Errors: Post's; kInternal with the
  // code and message otherwise.
  Status Call(std::string_view path, const std::vector<std::string_view>& pieces,
              std::string* answer);

 private:
  RestClient() = default;
  Status Open();
  Status SendRequest(std::string_view path, const std::vector<std::string_view>& pieces);
  Status ReadAnswer(std::string* answer);

  std::string host_, port_, authorization_;
  int fd_ = -1;
  bool server_closes_ = false;  // the last answer said Connection: close
  std::string buffer_;          // bytes read past the answer being parsed
};

// ok when the answer's top-level "code" is 0; kInternal "milvus code N: message" otherwise.
// Looks only at the start of the body, so it is cheap for large answers.
Status CheckMilvusCode(std::string_view body);

// ---- request bodies (as the Milvus node SDK writes them) -------------------------------------

// Appends the values, whole numbers 0..255 (pixels), as JSON integers: "[0,12,255,...]".
void AppendPixels(const float* values, size_t dim, std::string* out);
// The rows part of an insert body: `[{"id":ID,"vec":[...],"label":L},...]` for rows
// [first, first + count); labels may be empty (label 0).
std::string InsertRows(const std::vector<float>& vectors, size_t dim,
                       const std::vector<uint8_t>& labels, size_t first, size_t count);
// `{"collectionName":"NAME","data":` and `,"dbName":"default"}`: around InsertRows.
std::string InsertPrefix(const std::string& collection);
std::string InsertSuffix();
// A whole search body: nq=1, limit, L2, {"params":{"ef":ef}}.
std::string SearchBody(const std::string& collection, const float* query, size_t dim, int limit,
                       int ef);
// The full-schema create body: id Int64 primary, vec FloatVector dim, label Int64.
std::string CreateCollectionBody(const std::string& collection, size_t dim);
// indexes/create: HNSW M, efConstruction, L2 on vec (index name "vec_idx"; string params).
std::string CreateIndexBody(const std::string& collection, int m, int ef_construction);
// {"collectionName":"NAME","dbName":"default"} (+ "indexName":"vec_idx" when with_index).
std::string CollectionBody(const std::string& collection, bool with_index);

// The labels of an IDX1 unsigned-byte file (gzip-compressed or not); at most max_rows (0: all).
// Errors: kIOError (cannot read), kInvalidArgument (not an IDX1 ubyte file, truncated).
Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path, size_t max_rows);

// ---- what one run measures (bench_vectordb.cc), and its report (bench_vectordb_report.cc) ----

// One insert pass: every row into a fresh collection, batches shared by `clients` connections.
struct InsertLevel {
  int clients = 0;
  bool ok = false;
  std::string error;
  uint64_t rows = 0, requests = 0;
  uint64_t bytes = 0;  // JSON request bodies
  double seconds = 0, vectors_per_s = 0, mb_per_s = 0, p50_ms = 0, p99_ms = 0;
  double server_cpu_s = -1;  // /proc/PID/stat delta; < 0: unknown
  double client_cpu_s = 0;   // this process (the load generator)
};

// indexes/create -> indexState Finished, then collections/load -> LoadStateLoaded.
struct IndexBuild {
  bool ok = false;
  std::string error;
  uint64_t indexed_rows = 0;
  double build_s = -1, load_s = -1;
  double server_cpu_s = -1;  // during the build
};

// A few searches compared with the exact answer (brute force here).
struct SanityCheck {
  bool ok = false;
  std::string error;
  int queries = 0;
  int full_answers = 0;  // answers with exactly `limit` hits, distances ascending, known ids
  double recall_at_10 = -1;
};

// `clients` connections searching (nq=1) back to back for the duration.
struct SearchLevel {
  int clients = 0;
  bool ok = false;
  std::string error;
  uint64_t requests = 0;
  double seconds = 0, requests_per_s = 0, p50_ms = 0, p99_ms = 0;
  double server_cpu_s = -1;
  double client_cpu_s = 0;
};

struct Report {
  std::string endpoint;
  bool own_server = false;
  pid_t server_pid = -1;
  int nproc = 0;
  std::string cpu_model;
  double load_average = -1;
  size_t rows = 0, dim = 0, batch = 0;
  int limit = 10, ef = 32, m = 16, ef_construction = 200;
  double duration_s = 0;
  std::vector<InsertLevel> inserts;
  IndexBuild index;
  SanityCheck sanity;
  std::vector<SearchLevel> searches;
};

// ---- the phases (bench_vectordb_run.cc) ------------------------------------------------------

struct Target {
  std::string endpoint, access_key, secret_key;
  pid_t server_pid = -1;                    // <= 0: server CPU is not measured
  const std::atomic<bool>* stop = nullptr;  // set on SIGINT: phases end early
};

constexpr size_t kSanityQueries = 20;
constexpr size_t kSearchQueries = 1000;  // distinct query bodies the search clients cycle through

// The data every phase uses, serialized before any clock starts.
struct Workload {
  dataset::Dataset data;             // the rows inserted; queries: the sanity-check ones
  std::vector<float> queries;        // up to kSearchQueries rows of t10k-images
  std::vector<std::string> batches;  // InsertRows of each insert request
  std::vector<size_t> batch_rows;
};

// The first `rows` train images (with their labels, 0 when the labels file is missing) in
// batches of `batch` rows, and the t10k queries. Errors: ReadIdxImages'.
Result<Workload> LoadWorkload(const std::string& dir, size_t rows, size_t batch);
// Creates the collection, then inserts every batch from `clients` connections taking the next
// batch from a shared counter. Failures are recorded in the level; the collection is dropped
// then.
InsertLevel RunInsert(const Target& t, const Workload& w, const std::string& collection,
                      int clients);
// indexes/create (HNSW, L2), polls indexes/describe until Finished, collections/load, polls
// get_load_state until LoadStateLoaded; fills build_s, load_s, server CPU and indexed rows.
// Errors: the calls' (kInternal for a non-zero Milvus code), kAborted on a stop or timeout.
Status BuildAndLoad(const Target& t, const std::string& collection, int m, int ef_construction,
                    IndexBuild* out);
// Searches the sanity queries one by one; each must give `limit` hits of known rows with the
// exact squared L2 distances in ascending order. recall@10 against brute force.
SanityCheck CheckSearches(const Target& t, const Workload& w, const std::string& collection,
                          int limit, int ef);
// `clients` connections sending the bodies round robin for duration_s (after a short untimed
// warm-up). Failures are recorded in the level.
SearchLevel RunSearch(const Target& t, const std::vector<std::string>& bodies, int clients,
                      double duration_s);
// Best effort (an error is logged on stderr).
void DropCollection(const Target& t, const std::string& collection);

constexpr double kInsertTarget = 20000;  // vectors/s of dim 784, best insert level
constexpr double kSearchTarget = 4000;   // requests/s from kSearchTargetClients clients
constexpr int kSearchTargetClients = 8;

// The table, the targets with PASS/FAIL (n/a when not measured) and a note on the setup.
void PrintReport(const Report& report, FILE* out);
std::string ReportJson(const Report& report);

}  // namespace skyway::cli::vdbbench
