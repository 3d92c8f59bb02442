// `skyway bench index`: from vectors in the object store to a searchable index and back, per
// index type, over plain HTTP and over the direct data path in one run. Per dataset: PUT the
// vectors as one object; per transport GET it into memory from Client::Allocate (load); per index
// type build once (build), then per transport Serialize + PUT the index (store); recall@10 against
// exact search and single-thread QPS per ef / nprobe; and the same HNSW built and searched with
// hnswlib directly, for the ratios the report checks.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <thread>

#include "cli/bench.h"
#include "cli/commands.h"
#include "cli/dataset.h"
#include "cli/progress.h"
#include "vector/vector.h"

namespace skyway::cli {
namespace {

using bench::IndexRow;
using bench::SearchPoint;
using dataset::Dataset;
using dataset::GroundTruth;
using Clock = std::chrono::steady_clock;

constexpr int kHnswM = dataset::kHnswM, kHnswEfConstruction = dataset::kHnswEfConstruction;
constexpr size_t kK = 10;

struct Options {
  std::vector<std::string> datasets = {"fashion-mnist", "synthetic"};
  size_t synthetic_rows = 1000000;
  size_t queries = 1000;
  std::string fashion_dir = dataset::kFashionMnistDir;
  std::vector<std::string> index_types = {"FLAT", "IVF_FLAT", "IVF_PQ", "HNSW"};
  std::vector<bool> transports = {false, true};  // direct?
  int threads = 0;
  std::vector<int> ef = {16, 32, 64, 128};
  std::vector<int> nprobe = {4, 16, 64};
  std::vector<int> itopk = {16, 32, 64, 128, 256};
  std::string device = "cpu";
  std::string build_algo;  // GPU_CAGRA's kNN graph (empty: the index's default)
  bool types_given = false;
  int load_repeat = 3;
  int search_repeat = 3;
  bool baseline = true;
  std::string out = "bench-index.json", chart;
  std::string endpoint, access_key, secret_key;
};

void Usage() {
  fprintf(
      stderr,
      "usage: skyway bench index [options]\n\n"
      "  --dataset NAME         fashion-mnist, synthetic or both (default both)\n"
      "  --synthetic-rows N     rows of the synthetic 128-d set (default 1000000)\n"
      "  --queries N            queries per dataset (default 1000)\n"
      "  --fashion-mnist-dir D  the IDX files (default %s)\n"
      "  --device cpu|gpu       cpu: the CPU index types (default); gpu: GPU_CAGRA beside the\n"
      "                         CPU baseline HNSW (and hnswlib), the seed's experiment\n"
      "  --index-types LIST     default FLAT,IVF_FLAT,IVF_PQ,HNSW (--device gpu: HNSW,GPU_CAGRA)\n"
      "  --transports LIST      http, direct or both (default http,direct); also --transport\n"
      "  --threads N            build threads (default: all cores)\n"
      "  --hnsw-ef LIST         HNSW search ef values (default 16,32,64,128)\n"
      "  --nprobe LIST          IVF search nprobe values (default 4,16,64)\n"
      "  --itopk LIST           GPU_CAGRA search itopk_size values (default 16,32,64,128,256)\n"
      "  --build-algo NAME      GPU_CAGRA's kNN graph: IVF (by clusters), NN_DESCENT (on a CPU)\n"
      "                         or BRUTE_FORCE (exact); default: exact while small enough (FM on\n"
      "                         a GPU), else IVF on a GPU and NN_DESCENT on a CPU\n"
      "  --load-repeat N        GETs of the vectors per transport; the best counts (default 3)\n"
      "  --search-repeat N      passes over the queries per setting, the best counts; FLAT 1\n"
      "                         (default 3; hnswlib's passes alternate with HNSW's)\n"
      "  --no-baseline          skip the raw hnswlib build and search\n"
      "  --out FILE.json        results (default bench-index.json)\n"
      "  --chart FILE.svg       chart (default: --out with .svg)\n"
      "  --endpoint URL --access-key AK --secret-key SK   measure this server (default: start\n"
      "                         `skyway server` in a temporary directory)\n"
      "Build once per dataset and index type (HNSW M=16 efConstruction=200; IVF nlist =\n"
      "min(1024, 4 sqrt(N)); IVF_PQ m = dim/8, nbits 8; GPU_CAGRA intermediate_graph_degree 128,\n"
      "graph_degree 64, on the GPU when there is one, else on the CPU; L2); load and store per\n"
      "transport. The\n"
      "direct store copies the serialized index into registered memory (counted in store_s).\n"
      "Recall@10 is against exact search; QPS is one thread, one query per call.\n",
      dataset::kFashionMnistDir);
}

Status ParseInts(const std::string& flag, const std::string& text, uint64_t max,
                 std::vector<int>* out) {
  out->clear();
  for (const auto& item : bench::SplitList(text)) {
    auto n = ParseUint64(item);
    if (!n || *n == 0 || *n > max) return Status::Invalid("bad " + flag + " value '" + item + "'");
    out->push_back(static_cast<int>(*n));
  }
  return Status::Ok();
}

Status ParseNames(const std::string& flag, const std::string& text,
                  const std::vector<std::string>& allowed, std::vector<std::string>* out) {
  *out = bench::SplitList(text);
  for (const auto& item : *out) {
    if (std::find(allowed.begin(), allowed.end(), item) == allowed.end())
      return Status::Invalid("bad " + flag + " value '" + item + "'");
  }
  return Status::Ok();
}

Status ParseFlag(const std::string& flag, const std::string& value, Options* o) {
  std::vector<int> ints;
  if (flag == "--dataset") {
    return ParseNames(flag, value == "both" ? "fashion-mnist,synthetic" : value,
                      {"fashion-mnist", "synthetic"}, &o->datasets);
  } else if (flag == "--index-types") {
    std::string upper = value;
    for (char& ch : upper) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    o->types_given = true;
    return ParseNames(flag, upper, vector::IndexTypes(), &o->index_types);
  } else if (flag == "--build-algo") {
    if (value != "IVF" && value != "BRUTE_FORCE") return Status::Invalid("--build-algo is IVF or BRUTE_FORCE");
    o->build_algo = value;
  } else if (flag == "--device") {
    if (value != "cpu" && value != "gpu") return Status::Invalid("--device is cpu or gpu");
    o->device = value;
  } else if (flag == "--transports" || flag == "--transport") {
    std::vector<std::string> names;
    RETURN_IF_ERROR(ParseNames(flag, value, {"http", "direct"}, &names));
    o->transports.clear();
    for (const auto& name : names) o->transports.push_back(name == "direct");
  } else if (flag == "--hnsw-ef" || flag == "--nprobe" || flag == "--itopk") {
    return ParseInts(flag, value, 100000,
                     flag == "--nprobe" ? &o->nprobe : flag == "--itopk" ? &o->itopk : &o->ef);
  } else if (flag == "--threads" || flag == "--load-repeat" || flag == "--search-repeat") {
    RETURN_IF_ERROR(ParseInts(flag, value, 1024, &ints));
    if (ints.size() != 1) return Status::Invalid(flag + " takes one number");
    (flag == "--threads"       ? o->threads
     : flag == "--load-repeat" ? o->load_repeat
                               : o->search_repeat) = ints[0];
  } else if (flag == "--synthetic-rows" || flag == "--queries") {
    auto n = ParseUint64(value);
    if (!n || *n == 0 || *n > 100000000) return Status::Invalid("bad " + flag + " '" + value + "'");
    (flag == "--queries" ? o->queries : o->synthetic_rows) = *n;
  } else {
    std::map<std::string, std::string*> strings = {{"--fashion-mnist-dir", &o->fashion_dir},
                                                   {"--out", &o->out},
                                                   {"--chart", &o->chart},
                                                   {"--endpoint", &o->endpoint},
                                                   {"--access-key", &o->access_key},
                                                   {"--secret-key", &o->secret_key}};
    auto it = strings.find(flag);
    if (it == strings.end()) return Status::Invalid("unknown option " + flag);
    *it->second = value;
  }
  return Status::Ok();
}

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); i += 2) {
    if (args[i] == "--no-baseline") {
      o.baseline = false;
      i--;
      continue;
    }
    if (i + 1 >= args.size()) return Status::Invalid(args[i] + " needs a value");
    RETURN_IF_ERROR(ParseFlag(args[i], args[i + 1], &o));
  }
  if (o.device == "gpu" && !o.types_given) o.index_types = {"HNSW", "GPU_CAGRA"};
  if (o.datasets.empty() || o.index_types.empty() || o.transports.empty()) {
    return Status::Invalid("--dataset, --index-types and --transports need a value");
  }
  RETURN_IF_ERROR(bench::ResolveCredentials(o.endpoint, &o.access_key, &o.secret_key));
  if (o.threads <= 0) o.threads = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  if (o.chart.empty()) {
    o.chart = EndsWith(o.out, ".json") ? o.out.substr(0, o.out.size() - 5) : o.out;
    o.chart += ".svg";
  }
  return o;
}

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted = true; }

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string Seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.3g s", s);
  return buf;
}

// One line per phase on stderr: redrawn in place on a terminal, plain lines in a log.
class PhaseLog {
 public:
  void Begin(std::string what) {
    what_ = std::move(what);
    if (tty_) fprintf(stderr, "%s ...", what_.c_str());
  }
  void End(const std::string& result) {
    fprintf(stderr, tty_ ? "\r\033[K%s: %s\n" : "%s: %s\n", what_.c_str(), result.c_str());
  }

 private:
  bool tty_ = isatty(STDERR_FILENO) == 1;
  std::string what_;
};

struct Context {
  const Options& o;
  bench::Target target;
  bench::IndexReport* report;
  PhaseLog log;
};

// One transport's client and the vectors it loaded.
struct Session {
  bool direct = false;
  std::unique_ptr<client::Client> client;
  std::unique_ptr<client::Buffer> vectors;  // destroyed before its client
};

std::string VectorsKey(const Dataset& d) { return "bench-index/" + d.name + "/vectors.f32"; }
std::string IndexKey(const Dataset& d, const std::string& type) {
  return "bench-index/" + d.name + "/" + type + ".index";
}
uint64_t VectorBytes(const Dataset& d) { return uint64_t{d.rows} * d.dim * sizeof(float); }

// ---- dataset, upload, ground truth -----------------------------------------------------------

Result<Dataset> Prepare(Context& c, const std::string& name) {
  bench::DatasetInfo info;
  info.name = name;
  c.log.Begin("[" + name + "] preparing the vectors");
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(Dataset d, dataset::Open(name, c.o.fashion_dir, c.o.synthetic_rows, c.o.queries,
                                            c.o.threads));
  info.prepare_s = Since(t0);
  info.rows = d.rows, info.dim = d.dim, info.queries = d.num_queries, info.bytes = VectorBytes(d);
  c.log.End(std::to_string(d.rows) + " x " + std::to_string(d.dim) + ", " +
            std::to_string(d.num_queries) + " queries, " + Seconds(info.prepare_s));
  c.report->datasets.push_back(info);
  if (d.rows < kK) return Status::Invalid(name + ": fewer rows than k");
  return d;
}

// Untimed: through registered memory when the server offers it, only to be quick.
Status UploadVectors(Context& c, const Dataset& d) {
  c.log.Begin("[" + d.name + "] PUT " + VectorsKey(d) + " (" + FormatBytes(VectorBytes(d)) + ")");
  client::Options options = c.target.options;
  ASSIGN_OR_RETURN(auto client, client::Client::Create(options));
  ASSIGN_OR_RETURN(auto buffer, client->Allocate(VectorBytes(d)));
  memcpy(buffer->data(), d.vectors.data(), VectorBytes(d));
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(auto put, client->ParallelPut(c.target.bucket, VectorsKey(d), buffer->data(),
                                                 VectorBytes(d)));
  c.log.End(Seconds(Since(t0)) +
            (put.transport == client::Transport::kDirect ? " (direct)" : " (http)"));
  return Status::Ok();
}

GroundTruth ComputeGroundTruth(Context& c, const Dataset& d) {
  c.log.Begin("[" + d.name + "] exact top " + std::to_string(kK) + " of the queries");
  auto t0 = Clock::now();
  GroundTruth truth = dataset::ComputeGroundTruth(d, kK);
  c.report->datasets.back().ground_truth_s = Since(t0);
  c.log.End(Seconds(c.report->datasets.back().ground_truth_s));
  return truth;
}

// ---- load ------------------------------------------------------------------------------------

Status LoadInto(Context& c, const Dataset& d, Session* s, bench::Load* load) {
  client::Options options = c.target.options;
  options.direct = s->direct;
  ASSIGN_OR_RETURN(s->client, client::Client::Create(options));
  ASSIGN_OR_RETURN(s->vectors, s->client->Allocate(load->bytes));
  load->registered = s->vectors->registered();
  if (s->direct && !load->registered)
    return Status::Internal("the buffer from Allocate is not registered (no direct path)");
  char* data = s->vectors->data();
  bool all_direct = true, any_direct = false;
  for (int rep = 0; rep < c.o.load_repeat && !g_interrupted; rep++) {
    memset(data, 0, load->bytes);  // faults the pages in before the clock starts; clears
    ProgressBar bar(stderr);
    client::Progress progress = nullptr;
    if (bar.enabled())
      progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
    auto t0 = Clock::now();
    ASSIGN_OR_RETURN(auto got, s->client->ParallelGet(c.target.bucket, VectorsKey(d), data,
                                                      load->bytes, progress));
    load->seconds.push_back(Since(t0));
    bar.Finish();
    bool direct = got.transport == client::Transport::kDirect;
    all_direct = all_direct && direct, any_direct = any_direct || direct;
    if (got.bytes != load->bytes || memcmp(data, d.vectors.data(), load->bytes) != 0)
      return Status::Internal("the vectors read back differ from the ones written");
  }
  load->went_direct = all_direct && !load->seconds.empty();
  if (s->direct && !load->went_direct) return Status::Internal("a GET fell back to HTTP");
  if (!s->direct && any_direct) return Status::Internal("an http GET went direct");
  load->best_s = *std::min_element(load->seconds.begin(), load->seconds.end());
  return Status::Ok();
}

std::vector<Session> LoadAll(Context& c, const Dataset& d) {
  std::vector<Session> sessions;
  for (bool direct : c.o.transports) {
    bench::Load load;
    load.dataset = d.name, load.direct = direct, load.bytes = VectorBytes(d);
    Session s;
    s.direct = direct;
    c.log.Begin("[" + d.name + "] load over " + (direct ? "direct" : "http") + ", best of " +
                std::to_string(c.o.load_repeat));
    Status st = LoadInto(c, d, &s, &load);
    load.ok = st.ok() && !g_interrupted;
    load.error = st.ok() ? (g_interrupted ? "interrupted" : "") : st.ToString();
    c.log.End(load.ok ? Seconds(load.best_s) + ", " + FormatRate(load.bytes, load.best_s)
                      : "FAILED: " + load.error);
    c.report->loads.push_back(load);
    sessions.push_back(std::move(s));
  }
  return sessions;
}

const bench::Load* FindLoad(const bench::IndexReport& r, const std::string& name, bool direct) {
  for (const auto& l : r.loads) {
    if (l.dataset == name && l.direct == direct) return &l;
  }
  return nullptr;
}

// ---- build, store, search --------------------------------------------------------------------

// Serialize + PUT; for the direct transport through a copy into registered memory.
Status StoreIndex(Context& c, const Dataset& d, const vector::Index& index, Session& s,
                  IndexRow* row) {
  if (!s.client) return Status::Internal("no client: the load failed");
  std::string key = IndexKey(d, row->index_type);
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(std::string bytes, index.Serialize());
  client::TransferResult put;
  if (s.direct) {
    ASSIGN_OR_RETURN(auto buffer, s.client->Allocate(std::max<uint64_t>(1, bytes.size())));
    if (!buffer->registered()) return Status::Internal("the index buffer is not registered");
    memcpy(buffer->data(), bytes.data(), bytes.size());
    ASSIGN_OR_RETURN(put,
                     s.client->ParallelPut(c.target.bucket, key, buffer->data(), bytes.size()));
  } else {
    ASSIGN_OR_RETURN(put, s.client->ParallelPut(c.target.bucket, key, bytes.data(), bytes.size()));
  }
  row->store_s = Since(t0);
  row->index_bytes = bytes.size();
  row->store_went_direct = put.transport == client::Transport::kDirect;
  if (s.direct != row->store_went_direct)
    return Status::Internal(s.direct ? "the index PUT fell back to HTTP"
                                     : "an http PUT went direct");
  ASSIGN_OR_RETURN(auto stat, s.client->Stat(c.target.bucket, key));
  if (stat.size != bytes.size()) return Status::Internal("the stored index has the wrong size");
  return Status::Ok();
}

// The vectors a build reads: the last loaded copy (direct preferred), else the dataset's own.
const float* BuildSource(const Dataset& d, const std::vector<Session>& sessions) {
  const float* source = d.vectors.data();
  for (const auto& s : sessions) {
    if (s.vectors && (s.direct || source == d.vectors.data()))
      source = reinterpret_cast<const float*>(s.vectors->data());
  }
  return source;
}

// hnswlib built directly from the same vectors with the same threads and parameters.
std::unique_ptr<dataset::HnswlibIndex> BuildBaseline(Context& c, const Dataset& d,
                                                     const float* source, bench::Baseline* b) {
  b->dataset = d.name, b->m = kHnswM, b->ef_construction = kHnswEfConstruction;
  b->threads = c.o.threads;
  c.log.Begin("[" + d.name + "] build hnswlib (raw) M=16 efConstruction=200");
  auto t0 = Clock::now();
  auto index =
      dataset::HnswlibIndex::Build(source, d.rows, d.dim, kHnswM, kHnswEfConstruction, c.o.threads);
  b->build_s = Since(t0);
  c.log.End(index.ok() ? Seconds(b->build_s) : "FAILED: " + index.status().ToString());
  if (!index.ok()) b->error = index.status().ToString();
  b->ok = index.ok();
  return index.ok() ? std::move(*index) : nullptr;
}

// The seed's GPU pipeline for the direct row of a GPU type on a GPU node: GET the vectors
// straight into GPU memory (load), build there (build); the caller stores the graph.
Result<std::unique_ptr<vector::Index>> LoadAndBuildOnDevice(Context& c, const Dataset& d,
                                                            Session& s, const vector::IndexSpec& spec,
                                                            IndexRow* row) {
  if (!s.client) return Status::Internal("no client: the load failed");
  ASSIGN_OR_RETURN(auto device, vector::AllocateDeviceVectors(VectorBytes(d)));
  ASSIGN_OR_RETURN(auto registered, s.client->RegisterDevice(device->data(), VectorBytes(d)));
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(auto got, s.client->ParallelGet(c.target.bucket, VectorsKey(d),
                                                   reinterpret_cast<char*>(device->data()),
                                                   VectorBytes(d)));
  row->load_s = Since(t0);
  row->load_went_direct = got.transport == client::Transport::kDirect;
  if (!row->load_went_direct) return Status::Internal("the GET into GPU memory was not direct");
  auto t1 = Clock::now();
  auto index = vector::BuildIndex(spec, device->data(), d.rows, d.dim, c.o.threads);
  row->build_s = Since(t1);
  return index;
}

// Builds the index once and stores it over every transport: one row per transport. A GPU type
// on a GPU node is built again for the direct row, from GPU memory loaded by the direct path.
Result<std::unique_ptr<vector::Index>> BuildAndStore(Context& c, const Dataset& d,
                                                     std::vector<Session>& sessions,
                                                     const std::string& type,
                                                     std::vector<IndexRow>* rows) {
  vector::IndexSpec spec = dataset::BenchSpec(type, d);
  if (type == "GPU_CAGRA" && !c.o.build_algo.empty()) spec.params["build_algo"] = c.o.build_algo;
  IndexRow base;
  base.dataset = d.name, base.index_type = type,
  base.build_params = dataset::ParamsText(spec.params);
  c.log.Begin("[" + d.name + "] build " + type + (spec.params.empty() ? "" : " ") +
              base.build_params);
  auto t0 = Clock::now();
  auto index = vector::BuildIndex(spec, BuildSource(d, sessions), d.rows, d.dim, c.o.threads);
  base.build_s = Since(t0);
  c.log.End(index.ok() ? Seconds(base.build_s) : "FAILED: " + index.status().ToString());
  for (auto& s : sessions) {
    IndexRow row = base;
    row.direct = s.direct;
    const bench::Load* load = FindLoad(*c.report, d.name, s.direct);
    if (load && load->ok) row.load_s = load->best_s, row.load_went_direct = load->went_direct;
    if (!load || !load->ok) row.error = "load: " + (load ? load->error : "missing");
    if (s.direct && vector::IsGpuType(type) && !c.report->gpu_device.empty() && row.error.empty()) {
      c.log.Begin("[" + d.name + "] direct GET into GPU memory and build " + type + " there");
      auto on_device = LoadAndBuildOnDevice(c, d, s, spec, &row);
      c.log.End(on_device.ok() ? "load " + Seconds(row.load_s) + ", build " + Seconds(row.build_s)
                               : "FAILED: " + on_device.status().ToString());
      Status st = on_device.ok() ? StoreIndex(c, d, **on_device, s, &row) : on_device.status();
      if (!st.ok()) row.error = "gpu pipeline: " + st.ToString();
      rows->push_back(row);
      continue;
    }
    Status st = index.ok() ? StoreIndex(c, d, **index, s, &row) : index.status();
    if (!st.ok() && row.error.empty())
      row.error = (index.ok() ? "store: " : "build: ") + st.ToString();
    rows->push_back(row);
  }
  return index;
}

// GPU_CAGRA's search and hnswlib's (built for HNSW's baseline) in turn, pass after pass: the
// curves the same-QPS check compares, measured side by side.
void SearchBesideHnswlib(Context& c, const Dataset& d, const GroundTruth& truth,
                         const vector::Index& index, dataset::HnswlibIndex& raw,
                         std::vector<IndexRow>* rows) {
  c.log.Begin("[" + d.name + "] search GPU_CAGRA and hnswlib in turn");
  std::vector<SearchPoint> points, theirs;
  Status st = dataset::MeasureBeside(truth, d, index, kK,
                                     dataset::SearchSettings("GPU_CAGRA", c.o.ef, c.o.nprobe, c.o.itopk),
                                     raw, c.o.ef, c.o.search_repeat, &g_interrupted, &points, &theirs);
  c.log.End(st.ok() ? dataset::Summary(points) : "FAILED: " + st.ToString());
  if (st.ok()) fprintf(stderr, "  hnswlib: %s\n", dataset::Summary(theirs).c_str());
  for (auto& b : c.report->baselines) {
    if (b.dataset == d.name && st.ok()) b.beside_cagra = theirs;
  }
  // The batch search, what a GPU is for: all the queries in one call, on the device when it is
  // large enough (a search the device refuses falls back to the CPU with a warning in the log).
  std::vector<SearchPoint> batch;
  const size_t device_batch = vector::GpuSearchBatch();
  const std::string on = device_batch > 0 && d.num_queries >= device_batch ? "GPU" : "CPU, all cores";
  Status batch_st = Status::Ok();
  if (st.ok() && !g_interrupted) {
    c.log.Begin("[" + d.name + "] search GPU_CAGRA, " + std::to_string(d.num_queries) +
                " queries per call (" + on + ")");
    batch_st = dataset::MeasureBatch(truth, d, index, kK,
                                     dataset::SearchSettings("GPU_CAGRA", c.o.ef, c.o.nprobe, c.o.itopk),
                                     c.o.search_repeat, &g_interrupted, &batch);
    c.log.End(batch_st.ok() ? dataset::Summary(batch) : "FAILED: " + batch_st.ToString());
  }
  for (auto& row : *rows) {
    row.search = points;
    row.batch_search = batch;
    row.batch_on = on;
    if (!st.ok() && row.error.empty()) row.error = "search: " + st.ToString();
    if (!batch_st.ok() && row.error.empty()) row.error = "batch search: " + batch_st.ToString();
  }
}

// raw: hnswlib, built with HNSW's baseline and kept for GPU_CAGRA's search.
void RunIndexType(Context& c, const Dataset& d, const GroundTruth& truth,
                  std::vector<Session>& sessions, const std::string& type,
                  std::unique_ptr<dataset::HnswlibIndex>* raw_kept) {
  std::vector<IndexRow> rows;
  auto index = BuildAndStore(c, d, sessions, type, &rows);
  bench::Baseline baseline;
  std::unique_ptr<dataset::HnswlibIndex> raw;
  bool with_baseline = index.ok() && type == "HNSW" && c.o.baseline && !g_interrupted;
  if (with_baseline) raw = BuildBaseline(c, d, BuildSource(d, sessions), &baseline);
  if (index.ok() && !g_interrupted && type == "GPU_CAGRA" && *raw_kept) {
    SearchBesideHnswlib(c, d, truth, **index, **raw_kept, &rows);
  } else if (index.ok() && !g_interrupted) {
    c.log.Begin("[" + d.name + "] search " + type + (raw ? " and hnswlib" : ""));
    std::vector<SearchPoint> points;
    int passes = type == "FLAT" ? 1 : c.o.search_repeat;
    Status st = dataset::MeasureIndex(truth, d, **index, kK,
                                      dataset::SearchSettings(type, c.o.ef, c.o.nprobe, c.o.itopk),
                                      passes,
                                      raw.get(), &g_interrupted, &points, &baseline.search);
    c.log.End(st.ok() ? dataset::Summary(points) : "FAILED: " + st.ToString());
    if (raw && st.ok())
      fprintf(stderr, "  hnswlib: %s\n", dataset::Summary(baseline.search).c_str());
    for (auto& row : rows) {
      row.search = points;
      if (!st.ok() && row.error.empty()) row.error = "search: " + st.ToString();
    }
  }
  if (with_baseline) c.report->baselines.push_back(baseline);
  if (raw) *raw_kept = std::move(raw);
  for (auto& row : rows) {
    row.ok = row.error.empty();
    c.report->rows.push_back(row);
  }
}

Status RunDataset(Context& c, const std::string& name) {
  ASSIGN_OR_RETURN(Dataset d, Prepare(c, name));
  RETURN_IF_ERROR(UploadVectors(c, d));
  GroundTruth truth = ComputeGroundTruth(c, d);
  std::vector<Session> sessions = LoadAll(c, d);
  std::unique_ptr<dataset::HnswlibIndex> raw;
  for (const auto& type : c.o.index_types) {
    if (g_interrupted) return Status::Aborted("interrupted");
    RunIndexType(c, d, truth, sessions, type, &raw);
  }
  return g_interrupted ? Status::Aborted("interrupted") : Status::Ok();
}

int Failures(const bench::IndexReport& r) {
  int failed = 0;
  for (const auto& l : r.loads) failed += l.ok ? 0 : 1;
  for (const auto& row : r.rows) failed += row.ok ? 0 : 1;
  for (const auto& b : r.baselines) failed += b.ok ? 0 : 1;
  return failed;
}

// Runs every dataset against the target's server, then reports; the caller owns the server.
int RunBench(const Options& o, bench::Target& target, bench::IndexReport& report) {
  printf(
      "skyway bench index: %s, %d CPUs (%s, load average %.2f), %d build threads, server pid "
      "%d%s; GPU index types build on %s\n",
      target.options.endpoint.c_str(), report.machine.nproc, report.machine.cpu_model.c_str(),
      report.machine.load_average, o.threads, static_cast<int>(target.server_pid),
      report.own_server ? " (started by the bench)" : "",
      report.gpu_device.empty() ? "the CPU (no CUDA device)" : report.gpu_device.c_str());
  fflush(stdout);
  auto t0 = Clock::now();
  Status st = bench::CreateBucket(target);
  if (!st.ok()) {
    fprintf(stderr, "skyway bench index: create bucket: %s\n", st.ToString().c_str());
    return 1;
  }
  Context c{o, target, &report, {}};
  int errors = 0;
  for (const auto& name : o.datasets) {
    st = g_interrupted ? Status::Aborted("interrupted") : RunDataset(c, name);
    if (!st.ok() && st.code() != Code::kAborted) {
      fprintf(stderr, "skyway bench index: %s: %s\n", name.c_str(), st.ToString().c_str());
      errors++;
    }
  }
  report.duration_s = Since(t0);
  st = bench::RemoveBucket(target);
  if (!st.ok()) fprintf(stderr, "skyway bench index: remove bucket: %s\n", st.ToString().c_str());
  if (g_interrupted) {
    fprintf(stderr, "skyway bench index: interrupted\n");
    return 130;
  }
  st = bench::PublishIndexReport(report, o.out, o.chart);
  if (!st.ok()) {
    fprintf(stderr, "skyway bench index: %s\n", st.ToString().c_str());
    return 1;
  }
  int failed = Failures(report) + errors;
  if (failed) fprintf(stderr, "skyway bench index: %d part(s) failed\n", failed);
  return failed ? 1 : 0;
}

}  // namespace

int BenchIndexCommand(const std::vector<std::string>& args) {
  Options o;
  if (auto rc = ParseOrExit("bench index", args, Usage, ParseOptions, &o)) return *rc;
  bench::IndexReport report;
  report.machine = bench::DescribeMachine(false);
  report.threads = o.threads, report.k = kK, report.load_repeat = o.load_repeat;
  report.search_repeat = o.search_repeat;
  report.gpu_device = vector::GpuDevice();
  bench::InterruptGuard interrupts(OnInterrupt);  // a second Ctrl-C ends the bench at once
  bench::Target target;
  target.bucket = "skyway-bench-index-" + HexEncode(RandomBytes(4));
  auto server = bench::ConnectTarget(o.endpoint, o.access_key, o.secret_key, -1, &target);
  int rc = 1;
  if (!server.ok()) {
    fprintf(stderr, "skyway bench index: starting the server: %s\n",
            server.status().message().c_str());
  } else {
    report.own_server = *server != nullptr;
    report.endpoint = target.options.endpoint, report.server_pid = target.server_pid;
    rc = RunBench(o, target, report);
  }
  if (server.ok() && *server) {
    Status st = (*server)->Stop();
    if (!st.ok())
      fprintf(stderr, "skyway bench index: stopping the server: %s\n", st.ToString().c_str());
  }
  return rc;
}

}  // namespace skyway::cli
