// `skyway bench vectordb`: the phases it measures, each a few keep-alive clients driving the
// REST API: inserts, the index build and load, a sanity check of the answers, searches.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/bench.h"
#include "cli/bench_vectordb.h"

namespace skyway::cli::vdbbench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollMs = 100;
constexpr double kBuildTimeoutS = 3600;
constexpr int kWarmupRequests = 3;  // per search client, before the clock starts

bool Stopped(const Target& t) { return t.stop && t.stop->load(); }

struct ClientTally {
  std::vector<double> latencies_ms;
  uint64_t requests = 0, items = 0, bytes = 0;
  std::string answer;  // scratch
  Status error;
};

// One request of one client; false when there was nothing left to do.
using Step = std::function<Result<bool>(int client, RestClient& rest, ClientTally& tally)>;

struct PhaseResult {
  double seconds = 0, server_cpu_s = -1, client_cpu_s = 0;
  std::vector<double> latencies_ms;  // sorted
  uint64_t requests = 0, items = 0, bytes = 0;
  Status error;  // the first client error
};

double ServerCpu(pid_t pid) {
  if (pid <= 0) return -1;
  auto cpu = bench::ProcessCpuSeconds(pid);
  return cpu.ok() ? *cpu : -1;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

// Each client connects and warms up (untimed), then all run `step` until it says done, an error,
// an interrupt or the duration (0: none) ends them.
PhaseResult RunClients(const Target& t, int clients, int warmup, double duration_s,
                       const Step& step) {
  std::vector<ClientTally> tallies(clients);
  std::latch ready(clients), go(1);
  Clock::time_point deadline = Clock::time_point::max();
  auto body = [&](int i) {
    ClientTally& tally = tallies[i];
    auto rest = RestClient::Connect(t.endpoint, t.access_key, t.secret_key);
    for (int n = 0; rest.ok() && tally.error.ok() && n < warmup; n++) {
      auto did = step(i, **rest, tally);
      if (!did.ok()) tally.error = did.status();
    }
    if (!rest.ok()) tally.error = rest.status();
    tally.requests = tally.items = tally.bytes = 0;
    ready.count_down();
    go.wait();
    while (tally.error.ok() && !Stopped(t) && Clock::now() < deadline) {
      auto start = Clock::now();
      auto did = step(i, **rest, tally);
      if (!did.ok()) tally.error = did.status();
      if (!did.ok() || !*did) break;
      tally.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; i++) threads.emplace_back(body, i);
  ready.wait();
  PhaseResult r;
  double server0 = ServerCpu(t.server_pid), client0 = bench::SelfCpuSeconds();
  auto start = Clock::now();
  if (duration_s > 0)
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(duration_s));
  go.count_down();
  for (auto& th : threads) th.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double server1 = ServerCpu(t.server_pid);
  r.server_cpu_s = server0 >= 0 && server1 >= 0 ? server1 - server0 : -1;
  r.client_cpu_s = bench::SelfCpuSeconds() - client0;
  for (auto& tally : tallies) {
    if (r.error.ok() && !tally.error.ok()) r.error = tally.error;
    r.requests += tally.requests, r.items += tally.items, r.bytes += tally.bytes;
    r.latencies_ms.insert(r.latencies_ms.end(), tally.latencies_ms.begin(),
                          tally.latencies_ms.end());
  }
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

Status CallOnce(const Target& t, std::string_view path, const std::string& body,
                std::string* answer) {
  ASSIGN_OR_RETURN(auto rest, RestClient::Connect(t.endpoint, t.access_key, t.secret_key));
  return rest->Call(path, {body}, answer);
}

// A string member of a JSON object; empty when absent or not a string.
std::string Text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// A numeric member, or one written as a string (Int64 values with Accept-Type-Allow-Int64:
// false); NaN when absent or malformed.
double Number(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return NAN;
  auto it = object.find(key);
  if (it == object.end()) return NAN;
  if (it->is_number()) return it->get<double>();
  if (!it->is_string()) return NAN;
  auto n = ParseUint64(it->get<std::string>());
  return n ? static_cast<double>(*n) : NAN;
}

// The insertCount of an insert answer; -1 when absent.
int64_t InsertCount(const std::string& answer) {
  size_t at = answer.find("\"insertCount\":");
  if (at == std::string::npos) return -1;
  at += 14;
  size_t end = at;
  while (end < answer.size() && isdigit(static_cast<unsigned char>(answer[end]))) end++;
  auto n = ParseUint64(std::string_view(answer).substr(at, end - at));
  return n ? static_cast<int64_t>(*n) : -1;
}

// Polls `path` every kPollMs until done(answer) says true; done may fail.
Status Poll(const Target& t, RestClient& rest, std::string_view path, const std::string& body,
            const std::function<Result<bool>(const nlohmann::json& data)>& done) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(kBuildTimeoutS));
  std::string answer;
  while (!Stopped(t)) {
    RETURN_IF_ERROR(rest.Call(path, {body}, &answer));
    auto json = nlohmann::json::parse(answer, nullptr, false);
    if (json.is_discarded() || !json.contains("data")) {
      return Status::Internal(std::string(path) + ": unreadable answer " + answer.substr(0, 200));
    }
    ASSIGN_OR_RETURN(bool finished, done(json["data"]));
    if (finished) return Status::Ok();
    if (Clock::now() > deadline) return Status::Aborted(std::string(path) + ": timed out");
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  return Status::Aborted("interrupted");
}

// The primary keys of a search answer (strings or numbers) and whether its distances are
// ascending and match the exact squared L2 distances of those rows.
Status CheckAnswer(const Workload& w, size_t q, int limit, const std::string& answer,
                   std::vector<int64_t>* ids) {
  auto json = nlohmann::json::parse(answer, nullptr, false);
  if (json.is_discarded() || !json.contains("data") || !json["data"].is_array()) {
    return Status::Internal("unreadable search answer: " + answer.substr(0, 200));
  }
  const auto& hits = json["data"];
  if (hits.size() != static_cast<size_t>(limit)) {
    return Status::Internal("search returned " + std::to_string(hits.size()) + " hits");
  }
  double last = -1;
  const float* query = &w.data.queries[q * w.data.dim];
  for (const auto& hit : hits) {
    double id = Number(hit, "id"), distance = Number(hit, "distance");
    if (!(id >= 0 && id < static_cast<double>(w.data.rows)) || std::isnan(distance)) {
      return Status::Internal("unknown id or no distance in " + hit.dump());
    }
    auto row = static_cast<size_t>(id);
    double exact =
        vector::Score(vector::Metric::kL2, query, &w.data.vectors[row * w.data.dim], w.data.dim);
    if (distance < last || std::abs(distance - exact) > 1e-3 * std::max(1.0, exact)) {
      return Status::Internal("distances out of order or wrong: " + hit.dump() + " (exact " +
                              std::to_string(exact) + ")");
    }
    last = distance;
    ids->push_back(static_cast<int64_t>(row));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path, size_t max_rows) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) return Status::IOError("cannot open " + path);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  unsigned char head[8];
  if (gzread(file, head, sizeof(head)) != sizeof(head)) {
    return Status::Invalid(path + ": truncated IDX1 header");
  }
  if (head[0] || head[1] || head[2] != 0x08 || head[3] != 1) {
    return Status::Invalid(path + ": not an IDX1 unsigned-byte file");
  }
  size_t rows =
      (size_t(head[4]) << 24) | (size_t(head[5]) << 16) | (size_t(head[6]) << 8) | size_t(head[7]);
  if (max_rows && max_rows < rows) rows = max_rows;
  std::vector<uint8_t> labels(rows);
  if (rows && gzread(file, labels.data(), static_cast<unsigned>(rows)) != static_cast<int>(rows)) {
    return Status::Invalid(path + ": truncated");
  }
  return labels;
}

Result<Workload> LoadWorkload(const std::string& dir, size_t rows, size_t batch) {
  Workload w;
  w.data.name = "fashion-mnist";
  size_t dim = 0, nq = 0;
  ASSIGN_OR_RETURN(w.data.vectors, dataset::ReadIdxImages(dir + "/train-images-idx3-ubyte.gz", rows,
                                                          &w.data.rows, &w.data.dim));
  ASSIGN_OR_RETURN(w.queries, dataset::ReadIdxImages(dir + "/t10k-images-idx3-ubyte.gz",
                                                     kSearchQueries, &nq, &dim));
  if (dim != w.data.dim || nq == 0) return Status::Invalid("t10k-images do not match train-images");
  w.queries.resize(nq * dim);
  w.data.num_queries = std::min(nq, kSanityQueries);
  w.data.queries.assign(w.queries.begin(), w.queries.begin() + w.data.num_queries * dim);
  auto labels = ReadIdxLabels(dir + "/train-labels-idx1-ubyte.gz", rows);
  std::vector<uint8_t> label_values;
  if (labels.ok()) {
    label_values = std::move(*labels);
  } else {
    fprintf(stderr, "skyway bench vectordb: no labels (%s); label 0 for every row\n",
            labels.status().message().c_str());
  }
  for (size_t first = 0; first < w.data.rows; first += batch) {
    size_t count = std::min(batch, w.data.rows - first);
    w.batches.push_back(InsertRows(w.data.vectors, dim, label_values, first, count));
    w.batch_rows.push_back(count);
  }
  return w;
}

InsertLevel RunInsert(const Target& t, const Workload& w, const std::string& collection,
                      int clients) {
  InsertLevel level;
  level.clients = clients;
  std::string answer;
  Status st =
      CallOnce(t, "collections/create", CreateCollectionBody(collection, w.data.dim), &answer);
  if (!st.ok()) {
    level.error = "create collection: " + st.ToString();
    return level;
  }
  const std::string prefix = InsertPrefix(collection), suffix = InsertSuffix();
  std::atomic<size_t> next{0};
  Step step = [&](int, RestClient& rest, ClientTally& tally) -> Result<bool> {
    size_t b = next.fetch_add(1);
    if (b >= w.batches.size()) return false;
    RETURN_IF_ERROR(rest.Call("entities/insert", {prefix, w.batches[b], suffix}, &tally.answer));
    if (InsertCount(tally.answer) != static_cast<int64_t>(w.batch_rows[b])) {
      return Status::Internal("insert answered insertCount " +
                              std::to_string(InsertCount(tally.answer)) + " for " +
                              std::to_string(w.batch_rows[b]) + " rows");
    }
    tally.requests++;
    tally.items += w.batch_rows[b];
    tally.bytes += prefix.size() + w.batches[b].size() + suffix.size();
    return true;
  };
  PhaseResult r = RunClients(t, clients, 0, 0, step);
  level.rows = r.items, level.requests = r.requests, level.bytes = r.bytes;
  level.seconds = r.seconds;
  level.vectors_per_s = r.seconds > 0 ? r.items / r.seconds : 0;
  level.mb_per_s = r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0;
  level.p50_ms = Percentile(r.latencies_ms, 0.5), level.p99_ms = Percentile(r.latencies_ms, 0.99);
  level.server_cpu_s = r.server_cpu_s, level.client_cpu_s = r.client_cpu_s;
  level.ok = r.error.ok() && !Stopped(t) && r.items == w.data.rows;
  if (!r.error.ok()) level.error = r.error.ToString();
  if (r.error.ok() && !level.ok) level.error = Stopped(t) ? "interrupted" : "rows missing";
  if (!level.ok) DropCollection(t, collection);
  return level;
}

Status BuildAndLoad(const Target& t, const std::string& collection, int m, int ef_construction,
                    IndexBuild* out) {
  ASSIGN_OR_RETURN(auto rest, RestClient::Connect(t.endpoint, t.access_key, t.secret_key));
  std::string answer;
  double cpu0 = ServerCpu(t.server_pid);
  auto start = Clock::now();
  RETURN_IF_ERROR(
      rest->Call("indexes/create", {CreateIndexBody(collection, m, ef_construction)}, &answer));
  auto index_done = [&](const nlohmann::json& data) -> Result<bool> {
    for (const auto& index : data.is_array() ? data : nlohmann::json::array()) {
      if (Text(index, "indexName") != "vec_idx") continue;
      std::string state = Text(index, "indexState");
      if (state == "Failed") return Status::Internal("index build failed: " + index.dump());
      out->indexed_rows = static_cast<uint64_t>(std::max(0.0, Number(index, "indexedRows")));
      return state == "Finished";
    }
    return Status::Internal("indexes/describe does not list vec_idx: " + data.dump());
  };
  RETURN_IF_ERROR(Poll(t, *rest, "indexes/describe", CollectionBody(collection, true), index_done));
  out->build_s = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu1 = ServerCpu(t.server_pid);
  out->server_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
  start = Clock::now();
  std::string body = CollectionBody(collection, false);
  RETURN_IF_ERROR(rest->Call("collections/load", {body}, &answer));
  auto loaded = [](const nlohmann::json& data) -> Result<bool> {
    std::string state = Text(data, "loadState");
    if (state == "LoadStateNotExist") return Status::NotFound("collection not found at load");
    return state == "LoadStateLoaded";
  };
  RETURN_IF_ERROR(Poll(t, *rest, "collections/get_load_state", body, loaded));
  out->load_s = std::chrono::duration<double>(Clock::now() - start).count();
  return Status::Ok();
}

SanityCheck CheckSearches(const Target& t, const Workload& w, const std::string& collection,
                          int limit, int ef) {
  SanityCheck check;
  auto truth = dataset::ComputeGroundTruth(w.data, static_cast<size_t>(limit));
  auto rest = RestClient::Connect(t.endpoint, t.access_key, t.secret_key);
  if (!rest.ok()) {
    check.error = rest.status().ToString();
    return check;
  }
  double recall = 0;
  std::string answer;
  for (size_t q = 0; q < w.data.num_queries; q++) {
    check.queries++;
    std::vector<int64_t> ids;
    std::string body =
        SearchBody(collection, &w.data.queries[q * w.data.dim], w.data.dim, limit, ef);
    Status st = (*rest)->Call("entities/search", {body}, &answer);
    if (st.ok()) st = CheckAnswer(w, q, limit, answer, &ids);
    if (!st.ok() && check.error.empty())
      check.error = "query " + std::to_string(q) + ": " + st.ToString();
    if (st.ok()) check.full_answers++;
    recall += dataset::Recall(truth, w.data, q, ids);
  }
  check.recall_at_10 = check.queries ? recall / check.queries : -1;
  check.ok = check.queries > 0 && check.full_answers == check.queries;
  return check;
}

SearchLevel RunSearch(const Target& t, const std::vector<std::string>& bodies, int clients,
                      double duration_s) {
  SearchLevel level;
  level.clients = clients;
  std::vector<size_t> next(clients);
  for (int i = 0; i < clients; i++) next[i] = i * bodies.size() / clients;
  Step step = [&](int i, RestClient& rest, ClientTally& tally) -> Result<bool> {
    const std::string& body = bodies[next[i]++ % bodies.size()];
    RETURN_IF_ERROR(rest.Call("entities/search", {body}, &tally.answer));
    tally.requests++;
    tally.bytes += body.size();
    return true;
  };
  PhaseResult r = RunClients(t, clients, kWarmupRequests, duration_s, step);
  level.requests = r.requests;
  level.seconds = r.seconds;
  level.requests_per_s = r.seconds > 0 ? r.requests / r.seconds : 0;
  level.p50_ms = Percentile(r.latencies_ms, 0.5), level.p99_ms = Percentile(r.latencies_ms, 0.99);
  level.server_cpu_s = r.server_cpu_s, level.client_cpu_s = r.client_cpu_s;
  level.ok = r.error.ok() && !Stopped(t) && r.requests > 0;
  if (!r.error.ok()) level.error = r.error.ToString();
  if (r.error.ok() && !level.ok) level.error = Stopped(t) ? "interrupted" : "no requests";
  return level;
}

void DropCollection(const Target& t, const std::string& collection) {
  std::string answer;
  Status st = CallOnce(t, "collections/drop", CollectionBody(collection, false), &answer);
  if (!st.ok())
    fprintf(stderr, "skyway bench vectordb: drop %s: %s\n", collection.c_str(),
            st.ToString().c_str());
}

}  // namespace skyway::cli::vdbbench
