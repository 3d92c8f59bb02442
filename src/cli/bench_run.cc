// `skyway bench`: one cell is N threads, each with its own client and its own buffer from
// Client::Allocate, that GET (or PUT) the same object(s) over and over for a fixed time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <thread>

#include "cli/bench.h"

namespace skyway::cli::bench {

// 8-byte words that differ along the object and between sizes: a GET that wrote nothing, or
// the wrong bytes, does not match.
namespace {
uint64_t PatternWord(uint64_t index, uint64_t seed) {
  return (index + 1) * 0x9E3779B97F4A7C15ull ^ seed;
}
}  // namespace

void FillPattern(char* p, uint64_t n, uint64_t seed) {
  for (uint64_t i = 0; i < n / 8; i++) {
    uint64_t w = PatternWord(i, seed);
    memcpy(p + i * 8, &w, 8);
  }
  uint64_t w = PatternWord(n / 8, seed);
  memcpy(p + n / 8 * 8, &w, n % 8);
}

bool MatchesPattern(const char* p, uint64_t n, uint64_t seed) {
  for (uint64_t i = 0; i < n / 8; i++) {
    uint64_t w = PatternWord(i, seed);
    if (memcmp(p + i * 8, &w, 8) != 0) return false;
  }
  uint64_t w = PatternWord(n / 8, seed);
  return memcmp(p + n / 8 * 8, &w, n % 8) == 0;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMinRequests = 5;  // per cell, even when that outlasts the duration
constexpr uint64_t kMemcpyBytes = 256ull << 20;
constexpr int kMemcpyReps = 5;

std::string GetKey(uint64_t size) { return "get-" + SizeLabel(size); }
std::string PutKey(uint64_t size, bool direct, int thread) {
  return "put-" + SizeLabel(size) + (direct ? "-direct-" : "-http-") + std::to_string(thread);
}

// The ETag every PUT of this size must come back with. Main thread only.
const std::string& PatternMd5(uint64_t size) {
  static std::map<uint64_t, std::string> cache;
  auto it = cache.find(size);
  if (it != cache.end()) return it->second;
  constexpr uint64_t kChunk = 1 << 20;
  std::vector<char> pattern(kChunk);
  Md5 md5;
  for (uint64_t at = 0; at < size; at += kChunk) {
    uint64_t n = std::min(kChunk, size - at);
    // at is a multiple of 8, so the chunk's words are words at/8 onward.
    for (uint64_t i = 0; i < (n + 7) / 8; i++) {
      uint64_t w = PatternWord(at / 8 + i, size);
      memcpy(pattern.data() + i * 8, &w, std::min<uint64_t>(8, n - i * 8));
    }
    md5.Update(pattern.data(), n);
  }
  return cache[size] = md5.FinalHex();
}

Result<std::unique_ptr<client::Client>> MakeClient(const Target& target, bool direct) {
  client::Options options = target.options;
  options.direct = direct;
  return client::Client::Create(options);
}

struct Worker {
  std::unique_ptr<client::Client> client;
  std::unique_ptr<client::Buffer> buffer;  // destroyed before its client
  std::string key;
  std::vector<int64_t> latencies_ns;
  uint64_t direct_requests = 0;
  Status status;
};

// One request, checked: all bytes moved, and by the transport the cell measures.
Result<client::TransferResult> Request(Worker& w, const Target& target, Op op, uint64_t size,
                                       bool direct) {
  auto r = op == Op::kGet ? w.client->Get(target.bucket, w.key, w.buffer->data(), size)
                          : w.client->Put(target.bucket, w.key, w.buffer->data(), size);
  if (!r.ok()) return r.status();
  if (r->bytes != size) {
    return Status::Internal("moved " + std::to_string(r->bytes) + " of " + std::to_string(size) +
                            " bytes");
  }
  bool went_direct = r->transport == client::Transport::kDirect;
  if (direct && !went_direct) return Status::Internal("a request fell back to HTTP");
  if (!direct && went_direct) return Status::Internal("an HTTP-only client went direct");
  return r;
}

// Client, buffer, and one untimed request that connects, registers, faults the buffer's pages
// in and checks the bytes (GET) or the ETag (PUT).
Status SetUpWorker(const Target& target, Op op, uint64_t size, bool direct, int index, Worker* w) {
  ASSIGN_OR_RETURN(w->client, MakeClient(target, direct));
  ASSIGN_OR_RETURN(w->buffer, w->client->Allocate(size));
  if (w->buffer->size() < size) return Status::Internal("Allocate returned a short buffer");
  if (direct && !w->buffer->registered()) {
    return Status::Internal("buffer not registered: the direct path is not available");
  }
  w->key = op == Op::kGet ? GetKey(size) : PutKey(size, direct, index);
  if (op == Op::kGet) {
    memset(w->buffer->data(), 0, size);
  } else {
    FillPattern(w->buffer->data(), size, size);
  }
  ASSIGN_OR_RETURN(client::TransferResult r, Request(*w, target, op, size, direct));
  if (op == Op::kGet && !MatchesPattern(w->buffer->data(), size, size)) {
    return Status::Internal("GET delivered wrong bytes");
  }
  if (op == Op::kPut && r.etag != PatternMd5(size)) {
    return Status::Internal("PUT ETag " + r.etag + " is not the MD5 of the bytes sent");
  }
  return Status::Ok();
}

struct Shared {
  Clock::time_point deadline;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> failed{false};
};

void RunWorker(Worker& w, const Target& target, Op op, uint64_t size, bool direct, Shared& shared) {
  while (true) {
    auto begin = Clock::now();
    auto r = Request(w, target, op, size, direct);
    auto end = Clock::now();
    if (!r.ok()) {
      w.status = r.status();
      shared.failed = true;
      return;
    }
    w.latencies_ns.push_back(std::chrono::nanoseconds(end - begin).count());
    if (r->transport == client::Transport::kDirect) w.direct_requests++;
    uint64_t done = ++shared.done;
    if (shared.failed || (target.stop && target.stop->load())) return;
    if (end >= shared.deadline && done >= kMinRequests) return;
  }
}

// Nearest-rank percentile of sorted values, in milliseconds.
double PercentileMs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1]) / 1e6;
}

// Runs the workers' timed loops and fills in the cell's measurements.
void Measure(std::vector<Worker>& workers, const Target& target, Op op, bool direct, Cell* cell) {
  Result<double> server0 = Status::NotFound("");
  if (target.server_pid > 0) server0 = ProcessCpuSeconds(target.server_pid);
  double client0 = SelfCpuSeconds();
  Shared shared;
  auto t0 = Clock::now();
  shared.deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(target.duration_s));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&] { RunWorker(w, target, op, cell->size, direct, shared); });
  }
  for (auto& t : threads) t.join();
  cell->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  cell->client_cpu_s = SelfCpuSeconds() - client0;
  if (server0.ok()) {
    auto server1 = ProcessCpuSeconds(target.server_pid);
    if (server1.ok()) cell->server_cpu_s = *server1 - *server0;
  }
  std::vector<int64_t> latencies;
  for (auto& w : workers) {
    if (!w.status.ok() && cell->error.empty()) cell->error = w.status.ToString();
    latencies.insert(latencies.end(), w.latencies_ns.begin(), w.latencies_ns.end());
    cell->direct_requests += w.direct_requests;
  }
  std::sort(latencies.begin(), latencies.end());
  cell->requests = latencies.size();
  cell->bytes = cell->requests * cell->size;
  cell->gb_per_s = static_cast<double>(cell->bytes) / cell->seconds / 1e9;
  cell->requests_per_s = static_cast<double>(cell->requests) / cell->seconds;
  cell->p50_ms = PercentileMs(latencies, 0.50);
  cell->p99_ms = PercentileMs(latencies, 0.99);
  cell->ok = cell->error.empty();
}

}  // namespace

double MemcpyGbPerS() {
  std::unique_ptr<char[]> src(new char[kMemcpyBytes]), dst(new char[kMemcpyBytes]);
  memset(src.get(), 1, kMemcpyBytes);
  memset(dst.get(), 0, kMemcpyBytes);
  double best = 0;
  volatile char sink = 0;
  for (int rep = 0; rep < kMemcpyReps; rep++) {
    auto t0 = Clock::now();
    memcpy(dst.get(), src.get(), kMemcpyBytes);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    sink = sink + dst[static_cast<size_t>(rep) * 4096];  // keeps the copy observable
    best = std::max(best, static_cast<double>(kMemcpyBytes) / s / 1e9);
  }
  return best;
}

Status CreateBucket(const Target& target) {
  ASSIGN_OR_RETURN(auto client, MakeClient(target, false));
  return client->CreateBucket(target.bucket);
}

Status PrepareGetObject(const Target& target, uint64_t size) {
  ASSIGN_OR_RETURN(auto client, MakeClient(target, false));
  ASSIGN_OR_RETURN(auto buffer, client->Allocate(size));
  FillPattern(buffer->data(), size, size);
  ASSIGN_OR_RETURN(auto r, client->Put(target.bucket, GetKey(size), buffer->data(), size));
  (void)r;
  return Status::Ok();
}

Cell RunCell(const Target& target, Op op, uint64_t size, int concurrency, bool direct) {
  Cell cell;
  cell.size = size;
  cell.concurrency = concurrency;
  cell.direct = direct;
  std::vector<Worker> workers(static_cast<size_t>(concurrency));
  cell.registered = true;
  for (int i = 0; i < concurrency; i++) {
    Worker& w = workers[static_cast<size_t>(i)];
    Status st = SetUpWorker(target, op, size, direct, i, &w);
    if (w.buffer) cell.registered = cell.registered && w.buffer->registered();
    if (!st.ok()) {
      cell.error = st.ToString();
      if (!w.buffer) cell.registered = false;
      return cell;
    }
  }
  Measure(workers, target, op, direct, &cell);
  return cell;
}

Status RemoveBucket(const Target& target) {
  ASSIGN_OR_RETURN(auto client, MakeClient(target, false));
  std::string token;
  do {
    ASSIGN_OR_RETURN(client::ListPage page, client->List(target.bucket, "", "", token));
    for (const auto& object : page.objects)
      RETURN_IF_ERROR(client->Delete(target.bucket, object.key));
    token = page.truncated ? page.next_token : "";
  } while (!token.empty());
  return client->DeleteBucket(target.bucket);
}

}  // namespace skyway::cli::bench
