// `skyway bench get|put`: throughput, latency and CPU cost of GET or PUT over plain HTTP and over
// the direct data path, for several object sizes and thread counts, measured in one run against
// one server (its own child `skyway server` unless --endpoint names another). Prints a table,
// writes JSON and an SVG chart. `skyway bench index` is passed on to bench_index.cc, `skyway bench
// vectordb` to bench_vectordb.cc.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cli/bench.h"
#include "cli/commands.h"

namespace skyway::cli {
namespace bench {
namespace {

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  return in >> load ? load : -1;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (StartsWith(line, "model name")) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return std::string(Trim(line.substr(colon + 1)));
    }
  }
  return "";
}

}  // namespace

Machine DescribeMachine(bool measure_memcpy) {
  Machine m;
  m.nproc = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  m.cpu_model = CpuModel();
  m.load_average = LoadAverage();
  if (measure_memcpy) m.memcpy_gb_per_s = MemcpyGbPerS();
  return m;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    out.emplace_back(Trim(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

Status ResolveCredentials(const std::string& endpoint, std::string* access_key,
                          std::string* secret_key) {
  if (endpoint.empty()) return Status::Ok();
  if (access_key->empty() && getenv("SKYWAY_ACCESS_KEY")) *access_key = getenv("SKYWAY_ACCESS_KEY");
  if (secret_key->empty() && getenv("SKYWAY_SECRET_KEY")) *secret_key = getenv("SKYWAY_SECRET_KEY");
  if (access_key->empty() || secret_key->empty()) {
    return Status::Invalid("--endpoint needs credentials (--access-key/--secret-key or env)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<ChildServer>> ConnectTarget(const std::string& endpoint,
                                                   const std::string& access_key,
                                                   const std::string& secret_key, pid_t server_pid,
                                                   Target* target) {
  if (!endpoint.empty()) {
    target->options.endpoint = endpoint;
    target->options.access_key = access_key;
    target->options.secret_key = secret_key;
    target->server_pid = server_pid;
    return std::unique_ptr<ChildServer>();
  }
  ASSIGN_OR_RETURN(auto server, ChildServer::Start());
  target->options.endpoint = server->endpoint();
  target->options.access_key = server->access_key();
  target->options.secret_key = server->secret_key();
  target->server_pid = server->pid();
  return server;
}

}  // namespace bench

namespace {

using bench::Cell;
using bench::Op;

struct BenchOptions {
  Op op = Op::kGet;
  std::vector<uint64_t> sizes;
  std::vector<int> concurrency = {1, 2};
  std::vector<bool> transports = {false, true};  // direct?
  double duration_s = 3;
  std::string out, chart;
  std::string endpoint;
  pid_t server_pid = -1;
  std::string access_key, secret_key;
};

void BenchUsage() {
  fprintf(stderr,
          "usage: skyway bench get|put [options]\n"
          "       skyway bench index [options]   (vectors in the store -> index; --help)\n"
          "       skyway bench vectordb [options]   (Milvus REST v2 inserts/searches; --help)\n"
          "       skyway bench gpu-get [options]   (a GET into GPU memory vs pinned cudaMemcpy)\n\n"
          "  --sizes LIST         object sizes, K/M/G suffixes (default 4K,1M,16M,256M)\n"
          "  --concurrency LIST   threads per cell, each with its own client and buffer\n"
          "                       (default 1,2)\n"
          "  --transports LIST    http, direct or both (default http,direct)\n"
          "  --duration S         seconds per cell (default 3; at least 5 requests)\n"
          "  --out FILE.json      results (default bench-get.json / bench-put.json)\n"
          "  --chart FILE.svg     chart (default: --out with .svg)\n"
          "  --endpoint URL       measure this server instead of starting one\n"
          "  --server-pid PID     its process, for server CPU time (with --endpoint)\n"
          "  --access-key AK --secret-key SK   credentials for --endpoint (default\n"
          "                       $SKYWAY_ACCESS_KEY / $SKYWAY_SECRET_KEY)\n"
          "Without --endpoint the bench starts `skyway server` on 127.0.0.1 in a temporary\n"
          "directory and stops it at the end. GB/s is 10^9 bytes per second; CPU s/GB is CPU\n"
          "seconds (user + system) per 10^9 bytes moved. A direct cell whose buffer is not\n"
          "registered or whose requests fall back to HTTP is reported as failed.\n");
}

Status ParseList(const std::string& flag, const std::string& text, BenchOptions* o) {
  std::vector<std::string> items = bench::SplitList(text);
  if (flag == "--sizes") o->sizes.clear();
  if (flag == "--concurrency") o->concurrency.clear();
  if (flag == "--transports") o->transports.clear();
  for (const auto& item : items) {
    if (flag == "--sizes") {
      auto size = bench::ParseSize(item);
      if (!size) return Status::Invalid("bad size '" + item + "' (e.g. 4K, 1M, 1G)");
      o->sizes.push_back(*size);
    } else if (flag == "--concurrency") {
      auto n = ParseUint64(item);
      if (!n || *n == 0 || *n > 256) return Status::Invalid("bad concurrency '" + item + "'");
      o->concurrency.push_back(static_cast<int>(*n));
    } else if (item == "http" || item == "direct") {
      o->transports.push_back(item == "direct");
    } else {
      return Status::Invalid("bad transport '" + item + "' (http or direct)");
    }
  }
  return Status::Ok();
}

Status ParseFlag(const std::string& flag, const std::string& value, BenchOptions* o) {
  if (flag == "--sizes" || flag == "--concurrency" || flag == "--transports") {
    return ParseList(flag, value, o);
  } else if (flag == "--duration") {
    char* end = nullptr;
    o->duration_s = strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(o->duration_s > 0) || o->duration_s > 3600) {
      return Status::Invalid("bad --duration '" + value + "'");
    }
  } else if (flag == "--out") {
    o->out = value;
  } else if (flag == "--chart") {
    o->chart = value;
  } else if (flag == "--endpoint") {
    o->endpoint = value;
  } else if (flag == "--server-pid") {
    auto pid = ParseUint64(value);
    if (!pid || *pid == 0 || *pid > 1u << 30) return Status::Invalid("bad --server-pid");
    o->server_pid = static_cast<pid_t>(*pid);
  } else if (flag == "--access-key") {
    o->access_key = value;
  } else if (flag == "--secret-key") {
    o->secret_key = value;
  } else {
    return Status::Invalid("unknown option " + flag);
  }
  return Status::Ok();
}

Result<BenchOptions> ParseOptions(const std::vector<std::string>& args) {
  BenchOptions o;
  if (args.empty() || (args[0] != "get" && args[0] != "put")) {
    return Status::Invalid("say what to measure: get or put");
  }
  o.op = args[0] == "get" ? Op::kGet : Op::kPut;
  o.sizes = {4ull << 10, 1ull << 20, 16ull << 20, 256ull << 20};
  for (size_t i = 1; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return Status::Invalid(args[i] + " needs a value");
    RETURN_IF_ERROR(ParseFlag(args[i], args[i + 1], &o));
  }
  if (o.sizes.empty() || o.concurrency.empty() || o.transports.empty()) {
    return Status::Invalid("--sizes, --concurrency and --transports need at least one value");
  }
  if (o.server_pid > 0 && o.endpoint.empty())
    return Status::Invalid("--server-pid needs --endpoint");
  RETURN_IF_ERROR(bench::ResolveCredentials(o.endpoint, &o.access_key, &o.secret_key));
  if (o.out.empty()) o.out = std::string("bench-") + bench::OpName(o.op) + ".json";
  if (o.chart.empty()) {
    o.chart = EndsWith(o.out, ".json") ? o.out.substr(0, o.out.size() - 5) : o.out;
    o.chart += ".svg";
  }
  return o;
}

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted = true; }

std::string CellName(Op op, uint64_t size, int concurrency, bool direct) {
  return std::string(bench::OpName(op)) + " " + bench::SizeLabel(size) + " x" +
         std::to_string(concurrency) + " " + (direct ? "direct" : "http");
}

// Every cell, size by size; both transports of a size and concurrency run back to back.
std::vector<Cell> RunCells(const BenchOptions& o, const bench::Target& target) {
  bool progress = isatty(STDERR_FILENO);
  size_t total = o.sizes.size() * o.concurrency.size() * o.transports.size(), n = 0;
  std::vector<Cell> cells;
  for (uint64_t size : o.sizes) {
    Status prepared = o.op == Op::kGet ? bench::PrepareGetObject(target, size) : Status::Ok();
    for (int concurrency : o.concurrency) {
      for (bool direct : o.transports) {
        if (g_interrupted) return cells;
        std::string name = CellName(o.op, size, concurrency, direct);
        if (progress) fprintf(stderr, "[%zu/%zu] %s ...", ++n, total, name.c_str());
        Cell cell;
        if (prepared.ok()) {
          cell = bench::RunCell(target, o.op, size, concurrency, direct);
        } else {
          cell.size = size, cell.concurrency = concurrency, cell.direct = direct;
          cell.error = "uploading the object to GET: " + prepared.ToString();
        }
        if (progress && cell.ok) {
          fprintf(stderr, "\r\033[K[%zu/%zu] %s: %.3g GB/s, %.0f req/s, p50 %.3g ms\n", n, total,
                  name.c_str(), cell.gb_per_s, cell.requests_per_s, cell.p50_ms);
        } else if (progress) {
          fprintf(stderr, "\r\033[K[%zu/%zu] %s: FAILED: %s\n", n, total, name.c_str(),
                  cell.error.c_str());
        }
        cells.push_back(std::move(cell));
      }
    }
  }
  return cells;
}

// Prints the table and the memcpy comparison; writes the JSON and SVG files.
Status Publish(const BenchOptions& o, const bench::Report& report) {
  printf("\n");
  bench::PrintTable(report, stdout);
  printf("\nsingle-thread memcpy: %.3g GB/s (256 MiB, best of 5)\n",
         report.machine.memcpy_gb_per_s);
  for (const auto& c : report.cells) {
    if (o.op != Op::kGet || !c.direct || !c.ok) continue;
    printf("direct GET %s x%d: %.3g GB/s = %.0f%% of memcpy\n", bench::SizeLabel(c.size).c_str(),
           c.concurrency, c.gb_per_s, 100 * c.gb_per_s / report.machine.memcpy_gb_per_s);
  }
  RETURN_IF_ERROR(bench::WriteTextFile(o.out, bench::ReportJson(report)));
  RETURN_IF_ERROR(bench::WriteTextFile(o.chart, bench::ReportSvg(report)));
  printf("wrote %s and %s\n", o.out.c_str(), o.chart.c_str());
  return Status::Ok();
}

// Points the target at --endpoint, or at a child server started here (returned; null otherwise).
Result<std::unique_ptr<bench::ChildServer>> ConnectTarget(const BenchOptions& o,
                                                          bench::Target* target) {
  target->duration_s = o.duration_s;
  target->stop = &g_interrupted;
  target->bucket = "skyway-bench-" + HexEncode(RandomBytes(4));
  return bench::ConnectTarget(o.endpoint, o.access_key, o.secret_key, o.server_pid, target);
}

// Runs the whole bench against the target's server; the caller owns the server.
int RunBench(const BenchOptions& o, bench::Target& target, bench::Report& report) {
  report.endpoint = target.options.endpoint;
  report.server_pid = target.server_pid;
  report.duration_s = o.duration_s;
  printf("skyway bench %s: %s, %d CPUs (%s, load average %.2f), %g s per cell, server pid %d%s\n",
         bench::OpName(o.op), report.endpoint.c_str(), report.machine.nproc,
         report.machine.cpu_model.c_str(), report.machine.load_average, o.duration_s,
         static_cast<int>(target.server_pid), report.own_server ? " (started by the bench)" : "");
  fflush(stdout);
  Status st = bench::CreateBucket(target);
  if (!st.ok()) {
    fprintf(stderr, "skyway bench: create bucket %s: %s\n", target.bucket.c_str(),
            st.ToString().c_str());
    return 1;
  }
  report.cells = RunCells(o, target);
  st = bench::RemoveBucket(target);
  if (!st.ok()) fprintf(stderr, "skyway bench: remove bucket: %s\n", st.ToString().c_str());
  if (g_interrupted) {
    fprintf(stderr, "skyway bench: interrupted\n");
    return 130;
  }
  st = Publish(o, report);
  if (!st.ok()) {
    fprintf(stderr, "skyway bench: %s\n", st.ToString().c_str());
    return 1;
  }
  int failed = 0;
  for (const auto& c : report.cells) failed += c.ok ? 0 : 1;
  if (failed) fprintf(stderr, "skyway bench: %d cell(s) failed\n", failed);
  return failed ? 1 : 0;
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "index") {
    return BenchIndexCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "gpu-get") {
    return BenchGpuGetCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "vectordb") {
    return BenchVectordbCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  BenchOptions o;
  if (auto rc = ParseOrExit("bench", args, BenchUsage, ParseOptions, &o)) return *rc;
  bench::Report report;
  report.op = o.op;
  report.machine = bench::DescribeMachine(true);
  bench::InterruptGuard interrupts(OnInterrupt);  // a second Ctrl-C ends the bench at once
  bench::Target target;
  auto server = ConnectTarget(o, &target);
  int rc = 1;
  if (!server.ok()) {
    fprintf(stderr, "skyway bench: starting the server: %s\n", server.status().message().c_str());
  } else {
    report.own_server = *server != nullptr;
    rc = RunBench(o, target, report);
  }
  if (server.ok() && *server) {
    Status st = (*server)->Stop();
    if (!st.ok()) fprintf(stderr, "skyway bench: stopping the server: %s\n", st.ToString().c_str());
  }
  return rc;
}

}  // namespace skyway::cli
