// bench: the parts of `skyway bench get|put|index`, private to cli/: the server it measures, the
// cells it runs (one per object size, concurrency and transport), the index pipeline rows and the
// reports it writes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/dataset.h"
#include "client/client.h"
#include "common/common.h"

namespace skyway::cli::bench {

enum class Op { kGet, kPut };
inline const char* OpName(Op op) { return op == Op::kGet ? "get" : "put"; }

// One measured combination of object size, concurrency and transport. Rates use 10^9 bytes.
struct Cell {
  uint64_t size = 0;
  int concurrency = 0;
  bool direct = false;  // the transport asked for: direct path, else plain HTTP
  bool ok = false;
  std::string error;             // why the cell failed (a direct cell that fell back fails)
  bool registered = false;       // every buffer came back registered from Client::Allocate
  uint64_t requests = 0;         // timed requests, all threads
  uint64_t direct_requests = 0;  // of those, the ones whose TransferResult said kDirect
  uint64_t bytes = 0;
  double seconds = 0;  // wall time of the timed part
  double gb_per_s = 0;
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double client_cpu_s = 0;   // getrusage(RUSAGE_SELF) delta
  double server_cpu_s = -1;  // /proc/PID/stat utime+stime delta; < 0: unknown

  const char* transport() const { return direct ? "direct" : "http"; }
  double ClientCpuPerGb() const;  // NaN when unknown or no bytes moved
  double ServerCpuPerGb() const;
};

struct Machine {
  int nproc = 0;
  double memcpy_gb_per_s = 0;  // one thread, 256 MiB, best of a few
  std::string cpu_model;
  double load_average = -1;  // 1-minute load at the start (other work on a shared machine)
};

struct Report {
  Op op = Op::kGet;
  double duration_s = 0;
  std::string endpoint;
  bool own_server = false;
  pid_t server_pid = -1;
  Machine machine;
  std::vector<Cell> cells;
};

// direct / http for one size and concurrency; NaN where a cell is missing, failed or zero.
struct Ratio {
  uint64_t size = 0;
  int concurrency = 0;
  double gb_per_s = 0;
  double client_cpu_per_gb = 0;
  double server_cpu_per_gb = 0;
};
std::vector<Ratio> Ratios(const std::vector<Cell>& cells);
// The ratio row for a cell's size and concurrency, or null.
const Ratio* FindRatio(const std::vector<Ratio>& ratios, const Cell& cell);

// The bytes a bench object holds (bench_run.cc): 8-byte words that differ along the object and
// with seed, so a GET that wrote nothing, or the wrong bytes, does not match.
void FillPattern(char* p, uint64_t n, uint64_t seed);
bool MatchesPattern(const char* p, uint64_t n, uint64_t seed);

// "4K", "1M", "256M", "1G" (powers of 1024) when exact, else the byte count.
std::string SizeLabel(uint64_t bytes);
// Parses "4096", "4K", "1M", "1G" (also "4KB", "4KiB"; any case). nullopt when malformed or 0.
std::optional<uint64_t> ParseSize(std::string_view text);

// ---- the command prelude (bench_server.cc) ---------------------------------------------------

// Ctrl-C and SIGTERM call handler while the guard lives (SA_RESETHAND: a second one ends the
// process at once); the defaults come back after.
class InterruptGuard {
 public:
  explicit InterruptGuard(void (*handler)(int));
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// ---- the server under test (bench_server.cc) -------------------------------------------------

// A `skyway server` (or `skyway vectordb`) child process on 127.0.0.1 with a port the kernel
// picks, a fresh data directory and generated credentials (passed as $SKYWAY_ACCESS_KEY /
// $SKYWAY_SECRET_KEY). Stop() (or the destructor) ends it by its PID with SIGTERM and removes
// the directory.
class ChildServer {
 public:
  // command: "server" or "vectordb". Errors: kIOError when it cannot be started or does not
  // report its port in time.
  static Result<std::unique_ptr<ChildServer>> Start(const std::string& command = "server");
  ~ChildServer();
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;
  Status Stop();

  pid_t pid() const { return pid_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }

 private:
  ChildServer() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string dir_, endpoint_, access_key_, secret_key_;
};

// The machine the bench runs on; memcpy_gb_per_s is measured only when asked (it takes a second).
Machine DescribeMachine(bool measure_memcpy);
// "a, b,c" -> {"a", "b", "c"} (items trimmed; empty items kept).
std::vector<std::string> SplitList(std::string_view text);
Status WriteTextFile(const std::string& path, const std::string& text);
// With an endpoint, fills empty credentials from $SKYWAY_ACCESS_KEY / $SKYWAY_SECRET_KEY.
// Errors: kInvalidArgument when an endpoint is given and credentials are still missing.
Status ResolveCredentials(const std::string& endpoint, std::string* access_key,
                          std::string* secret_key);

// CPU seconds (user + system) this process has used.
double SelfCpuSeconds();
// CPU seconds (utime + stime) of process pid, from /proc/PID/stat.
Result<double> ProcessCpuSeconds(pid_t pid);

// ---- running cells (bench_run.cc) ------------------------------------------------------------

struct Target {
  client::Options options;  // endpoint and credentials; direct is set per cell
  std::string bucket;
  pid_t server_pid = -1;  // <= 0: server CPU is not measured
  double duration_s = 3;
  const std::atomic<bool>* stop = nullptr;  // set on SIGINT: cells end early
};

// Single-thread memcpy bandwidth in GB/s: 256 MiB, best of a few repetitions.
double MemcpyGbPerS();
// Creates the bucket.
Status CreateBucket(const Target& target);
// Uploads the object every GET cell of this size reads.
Status PrepareGetObject(const Target& target, uint64_t size);
// Runs one cell. Failures are recorded in the cell, never returned.
Cell RunCell(const Target& target, Op op, uint64_t size, int concurrency, bool direct);
// Deletes every object of the bucket, then the bucket.
Status RemoveBucket(const Target& target);
// Points target->options at the endpoint (server_pid may be <= 0: not measured), or, when it is
// empty, at a ChildServer started here and returned (null otherwise). Errors: ChildServer's.
Result<std::unique_ptr<ChildServer>> ConnectTarget(const std::string& endpoint,
                                                   const std::string& access_key,
                                                   const std::string& secret_key, pid_t server_pid,
                                                   Target* target);

// ---- reports (bench_report.cc, bench_chart.cc) -----------------------------------------------

// One row per cell with the direct/http ratios on the direct rows.
void PrintTable(const Report& report, FILE* out);
std::string ReportJson(const Report& report);
// Hand-written SVG: grouped bars per size (http vs direct per concurrency) of GB/s, client CPU
// s/GB and server CPU s/GB.
std::string ReportSvg(const Report& report);

// ---- `skyway bench index` (bench_index.cc, bench_index_report.cc) -----------------------------

using dataset::SearchPoint;

// GET of one dataset's vectors object over one transport: the best of `seconds`.
struct Load {
  std::string dataset;
  bool direct = false;  // the transport asked for
  bool ok = false;
  std::string error;
  bool registered = false;   // the buffer came back registered from Client::Allocate
  bool went_direct = false;  // every timed GET's TransferResult said kDirect
  uint64_t bytes = 0;
  std::vector<double> seconds;
  double best_s = -1;
};

// One dataset x transport x index type: vectors object -> searchable index -> index object.
// The build and the searches run once per dataset and index type and are shared by its rows.
struct IndexRow {
  std::string dataset, index_type, build_params;
  bool direct = false;
  bool ok = false;
  std::string error;
  double load_s = -1, build_s = -1, store_s = -1;  // store: Serialize (+ copy) + PUT
  uint64_t index_bytes = 0;
  bool load_went_direct = false, store_went_direct = false;
  std::vector<SearchPoint> search;
  // GPU_CAGRA: every query in one call (on the GPU when there is one, else on all cores).
  std::vector<SearchPoint> batch_search;
  std::string batch_on;  // "GPU", "CPU, all cores"

  const char* transport() const { return direct ? "direct" : "http"; }
  double total_s() const {
    return load_s >= 0 && build_s >= 0 && store_s >= 0 ? load_s + build_s + store_s : -1;
  }
};

// hnswlib::HierarchicalNSW used directly on the same vectors, for the ratios.
struct Baseline {
  std::string dataset;
  bool ok = false;
  std::string error;
  int m = 16, ef_construction = 200, threads = 0;
  double build_s = -1;
  std::vector<SearchPoint> search;        // passes alternating with HNSW's, at its efs
  std::vector<SearchPoint> beside_cagra;  // measured again beside GPU_CAGRA's search (its
                                          // passes in turn with CAGRA's): the same-QPS check
};

struct DatasetInfo {
  std::string name;
  uint64_t rows = 0, dim = 0, queries = 0, bytes = 0;
  double prepare_s = -1;       // read or generate
  double ground_truth_s = -1;  // vector::ExactSearch of the queries
};

struct IndexReport {
  double duration_s = 0;
  std::string endpoint;
  bool own_server = false;
  pid_t server_pid = -1;
  Machine machine;
  int threads = 0;  // build threads
  int k = 10;
  int load_repeat = 3;
  int search_repeat = 3;  // timed passes per search setting (FLAT: 1); the best counts
  std::string gpu_device;  // where GPU_CAGRA built; empty: on the CPU
  std::vector<DatasetInfo> datasets;
  std::vector<Load> loads;
  std::vector<IndexRow> rows;
  std::vector<Baseline> baselines;
};

// A goal the report checks: measured <= target (at_most) or >= target.
struct TargetCheck {
  std::string name, dataset, detail;
  double measured = -1;  // < 0: could not be measured
  double target = 0;
  bool at_most = false;
  bool known() const { return measured >= 0; }
  bool pass() const { return known() && (at_most ? measured <= target : measured >= target); }
};
std::vector<TargetCheck> IndexTargets(const IndexReport& report);

void PrintIndexTable(const IndexReport& report, FILE* out);
void PrintIndexTargets(const std::vector<TargetCheck>& targets, FILE* out);
std::string IndexReportJson(const IndexReport& report);
// Prints the table and the targets on stdout; writes the JSON and the SVG chart.
Status PublishIndexReport(const IndexReport& report, const std::string& json_path,
                          const std::string& svg_path);
// Per dataset: stacked load/build/store seconds per index type and transport, and recall@10
// against QPS (log) per index type with the hnswlib baseline.
std::string IndexReportSvg(const IndexReport& report);

}  // namespace skyway::cli::bench
