// `skyway bench vectordb`: the REST throughput of `skyway vectordb` (Milvus REST v2) in one run:
// Fashion-MNIST inserts at several client counts, an HNSW build and load, a recall sanity check,
// then nq=1 searches at several client counts. Measures a child `skyway vectordb` started here
// (or --endpoint). Prints a table with the targets and writes JSON.
#include "cli/bench_vectordb.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "cli/bench.h"
#include "cli/commands.h"
#include "cli/dataset.h"

namespace skyway::cli {
namespace {

using Clock = std::chrono::steady_clock;
using vdbbench::Target;
using vdbbench::Workload;

struct Options {
  size_t rows = 60000, batch = 2000;
  std::vector<int> insert_clients = {1, 2, 4}, search_clients = {1, 8};
  double duration_s = 5;
  int ef = 32;
  std::string endpoint, access_key, secret_key, out = "bench-vectordb.json";
  pid_t server_pid = -1;
  std::string dataset_dir = dataset::kFashionMnistDir;
};

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted = true; }

void Usage() {
  fprintf(stderr,
          "usage: skyway bench vectordb [options]\n\n"
          "Milvus REST v2 throughput of `skyway vectordb`: Fashion-MNIST inserts, an HNSW build\n"
          "(M 16, efConstruction 200, L2) and load, then nq=1 top-10 searches.\n\n"
          "  --rows N             rows of train-images to insert (default 60000)\n"
          "  --batch N            rows per insert request (default 2000)\n"
          "  --insert-clients LIST  concurrent insert connections, one collection per value\n"
          "                       (default 1,2,4)\n"
          "  --search-clients LIST  concurrent search connections (default 1,8)\n"
          "  --duration S         seconds per search value (default 5)\n"
          "  --ef N               HNSW search ef (default 32)\n"
          "  --out FILE.json      results (default bench-vectordb.json)\n"
          "  --dataset-dir DIR    Fashion-MNIST IDX files (default %s)\n"
          "  --endpoint URL       measure this vectordb instead of starting one\n"
          "  --server-pid PID     its process, for server CPU time (with --endpoint)\n"
          "  --access-key AK --secret-key SK   its credentials (default $SKYWAY_ACCESS_KEY /\n"
          "                       $SKYWAY_SECRET_KEY)\n"
          "Without --endpoint the bench starts `skyway vectordb` on 127.0.0.1 in a temporary\n"
          "directory and stops it at the end. The load generator runs on the same machine.\n",
          dataset::kFashionMnistDir);
}

Result<uint64_t> PositiveNumber(const std::string& flag, const std::string& value, uint64_t max) {
  auto n = ParseUint64(value);
  if (!n || *n == 0 || *n > max) return Status::Invalid("bad " + flag + " '" + value + "'");
  return *n;
}

Status ParseClients(const std::string& flag, const std::string& text, std::vector<int>* out) {
  out->clear();
  for (const auto& item : bench::SplitList(text)) {
    ASSIGN_OR_RETURN(uint64_t n, PositiveNumber(flag, item, 256));
    out->push_back(static_cast<int>(n));
  }
  return Status::Ok();
}

Status ParseFlag(const std::string& flag, const std::string& value, Options* o) {
  if (flag == "--rows") {
    ASSIGN_OR_RETURN(o->rows, PositiveNumber(flag, value, 100000000));
  } else if (flag == "--batch") {
    ASSIGN_OR_RETURN(o->batch, PositiveNumber(flag, value, 100000));
  } else if (flag == "--insert-clients") {
    return ParseClients(flag, value, &o->insert_clients);
  } else if (flag == "--search-clients") {
    return ParseClients(flag, value, &o->search_clients);
  } else if (flag == "--duration") {
    char* end = nullptr;
    o->duration_s = strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(o->duration_s > 0) || o->duration_s > 3600) {
      return Status::Invalid("bad --duration '" + value + "'");
    }
  } else if (flag == "--ef") {
    ASSIGN_OR_RETURN(uint64_t ef, PositiveNumber(flag, value, 100000));
    o->ef = static_cast<int>(ef);
  } else if (flag == "--server-pid") {
    ASSIGN_OR_RETURN(uint64_t pid, PositiveNumber(flag, value, 1u << 30));
    o->server_pid = static_cast<pid_t>(pid);
  } else if (flag == "--out") {
    o->out = value;
  } else if (flag == "--dataset-dir") {
    o->dataset_dir = value;
  } else if (flag == "--endpoint") {
    o->endpoint = value;
  } else if (flag == "--access-key") {
    o->access_key = value;
  } else if (flag == "--secret-key") {
    o->secret_key = value;
  } else {
    return Status::Invalid("unknown option " + flag);
  }
  return Status::Ok();
}

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); i++) {
    if (i + 1 >= args.size()) return Status::Invalid(args[i] + " needs a value");
    RETURN_IF_ERROR(ParseFlag(args[i], args[i + 1], &o));
    i++;
  }
  if (o.insert_clients.empty() || o.search_clients.empty()) {
    return Status::Invalid("--insert-clients and --search-clients need at least one value");
  }
  if (o.server_pid > 0 && o.endpoint.empty()) {
    return Status::Invalid("--server-pid needs --endpoint");
  }
  RETURN_IF_ERROR(bench::ResolveCredentials(o.endpoint, &o.access_key, &o.secret_key));
  return o;
}

// ---- the run -----------------------------------------------------------------------------------

// Every insert level into its own collection; returns the last one filled (empty when none),
// having dropped the others (RunInsert drops a collection it failed to fill).
std::string RunInserts(const Options& o, const Target& t, const Workload& w,
                       vdbbench::Report* report) {
  std::string run = "bench_vdb_" + HexEncode(RandomBytes(4)), kept;
  for (int clients : o.insert_clients) {
    if (g_interrupted) break;
    std::string collection =
        run + "_c" + std::to_string(clients) + "_" + std::to_string(report->inserts.size());
    fprintf(stderr, "insert %zu rows, %d client(s) ...\n", w.data.rows, clients);
    auto level = vdbbench::RunInsert(t, w, collection, clients);
    if (level.ok) {
      fprintf(stderr, "  %.0f vectors/s, %.1f MB/s, p50 %.1f ms, p99 %.1f ms\n",
              level.vectors_per_s, level.mb_per_s, level.p50_ms, level.p99_ms);
    } else {
      fprintf(stderr, "  FAILED: %s\n", level.error.c_str());
    }
    if (!kept.empty() && level.ok) vdbbench::DropCollection(t, kept);
    if (level.ok) kept = collection;
    report->inserts.push_back(std::move(level));
  }
  return kept;
}

void RunSearches(const Options& o, const Target& t, const Workload& w,
                 const std::string& collection, vdbbench::Report* report) {
  report->sanity = vdbbench::CheckSearches(t, w, collection, report->limit, o.ef);
  fprintf(stderr, "sanity: %d/%d full answers, recall@10 %.3f%s%s\n", report->sanity.full_answers,
          report->sanity.queries, report->sanity.recall_at_10,
          report->sanity.error.empty() ? "" : ": ", report->sanity.error.c_str());
  std::vector<std::string> bodies;
  for (size_t q = 0; q * w.data.dim < w.queries.size(); q++) {
    bodies.push_back(vdbbench::SearchBody(collection, &w.queries[q * w.data.dim], w.data.dim,
                                          report->limit, o.ef));
  }
  for (int clients : o.search_clients) {
    if (g_interrupted) break;
    fprintf(stderr, "search %d client(s), %g s ...\n", clients, o.duration_s);
    auto level = vdbbench::RunSearch(t, bodies, clients, o.duration_s);
    if (level.ok) {
      fprintf(stderr, "  %.0f requests/s, p50 %.2f ms, p99 %.2f ms\n", level.requests_per_s,
              level.p50_ms, level.p99_ms);
    } else {
      fprintf(stderr, "  FAILED: %s\n", level.error.c_str());
    }
    report->searches.push_back(std::move(level));
  }
}

// Runs every phase against the target; the caller owns the server. Exit status.
int RunBench(const Options& o, const Target& t, vdbbench::Report& report) {
  auto begin = Clock::now();
  auto workload = vdbbench::LoadWorkload(o.dataset_dir, o.rows, o.batch);
  if (!workload.ok()) {
    fprintf(stderr, "skyway bench vectordb: dataset: %s\n", workload.status().ToString().c_str());
    return 1;
  }
  const Workload& w = *workload;
  report.rows = w.data.rows, report.dim = w.data.dim;
  uint64_t json_bytes = 0;
  for (const auto& b : w.batches) json_bytes += b.size();
  printf("skyway bench vectordb: %s, server pid %d%s, %d CPUs (%s, load average %.2f)\n",
         t.endpoint.c_str(), static_cast<int>(t.server_pid),
         report.own_server ? " (started by the bench)" : "", report.nproc, report.cpu_model.c_str(),
         report.load_average);
  printf(
      "fashion-mnist: %zu rows x %zu, %zu batches of <= %zu rows, %.1f MB of JSON, "
      "serialized in %.2f s\n",
      w.data.rows, w.data.dim, w.batches.size(), o.batch, json_bytes / 1e6,
      std::chrono::duration<double>(Clock::now() - begin).count());
  fflush(stdout);
  std::string collection = RunInserts(o, t, w, &report);
  if (!collection.empty() && !g_interrupted) {
    fprintf(stderr, "index HNSW M %d efConstruction %d, then load ...\n", report.m,
            report.ef_construction);
    Status st =
        vdbbench::BuildAndLoad(t, collection, report.m, report.ef_construction, &report.index);
    report.index.ok = st.ok();
    if (!st.ok()) report.index.error = st.ToString();
    fprintf(stderr, "  %s: build %.1f s, load %.1f s\n", st.ok() ? "ok" : st.ToString().c_str(),
            report.index.build_s, report.index.load_s);
    if (st.ok()) RunSearches(o, t, w, collection, &report);
  }
  if (!collection.empty()) vdbbench::DropCollection(t, collection);
  if (g_interrupted) {
    fprintf(stderr, "skyway bench vectordb: interrupted\n");
    return 130;
  }
  printf("\n");
  vdbbench::PrintReport(report, stdout);
  Status st = bench::WriteTextFile(o.out, vdbbench::ReportJson(report));
  if (!st.ok()) {
    fprintf(stderr, "skyway bench vectordb: %s\n", st.ToString().c_str());
    return 1;
  }
  printf("wrote %s\n", o.out.c_str());
  bool ok = report.index.ok && report.sanity.ok;
  for (const auto& l : report.inserts) ok = ok && l.ok;
  for (const auto& l : report.searches) ok = ok && l.ok;
  return ok ? 0 : 1;
}

}  // namespace

int BenchVectordbCommand(const std::vector<std::string>& args) {
  Options o;
  if (auto rc = ParseOrExit("bench vectordb", args, Usage, ParseOptions, &o)) return *rc;
  bench::InterruptGuard interrupts(OnInterrupt);  // a second Ctrl-C ends the bench at once
  vdbbench::Report report;
  bench::Machine machine = bench::DescribeMachine(false);
  report.nproc = machine.nproc, report.cpu_model = machine.cpu_model;
  report.load_average = machine.load_average;
  report.batch = o.batch, report.ef = o.ef, report.duration_s = o.duration_s;
  report.m = dataset::kHnswM, report.ef_construction = dataset::kHnswEfConstruction;
  Target target{o.endpoint, o.access_key, o.secret_key, o.server_pid, &g_interrupted};
  std::unique_ptr<bench::ChildServer> child;
  int rc = 1;
  if (o.endpoint.empty()) {
    auto started = bench::ChildServer::Start("vectordb");
    if (!started.ok()) {
      fprintf(stderr, "skyway bench vectordb: starting vectordb: %s\n",
              started.status().message().c_str());
    } else {
      child = std::move(*started);
      target = {child->endpoint(), child->access_key(), child->secret_key(), child->pid(),
                &g_interrupted};
    }
  }
  report.endpoint = target.endpoint, report.server_pid = target.server_pid;
  report.own_server = child != nullptr;
  if (!target.endpoint.empty()) rc = RunBench(o, target, report);
  if (child) {
    Status st = child->Stop();
    if (!st.ok())
      fprintf(stderr, "skyway bench vectordb: stopping vectordb: %s\n", st.ToString().c_str());
  }
  return rc;
}

}  // namespace skyway::cli
