// `skyway bench gpu-get`: an object GET into GPU memory, three ways, in one run against one
// server of its own: the direct path (the server copies from the page cache through its pinned
// staging ring into the client's device memory), HTTP into host memory then a copy to the
// device (what a client without the direct path does), and a pinned host -> device cudaMemcpy
// (the bus's bound). The target: direct >= 80% of the pinned copy's bandwidth. Needs a CUDA
// device; exit 0 when it ran (PASS or FAIL in the output and JSON), 1 when it could not run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "client/client.h"
#include "directpath/gpu/device_memory.h"
#include "vector/vector.h"

namespace skyway::cli {
namespace {

namespace dgpu = directpath::gpu;

struct GpuGetOptions {
  uint64_t size = 256ull << 20;
  int repeats = 5;
  std::string out = "bench-gpu-get.json";
};

void GpuGetUsage() {
  fprintf(stderr,
          "usage: skyway bench gpu-get [--size BYTES] [--repeats N] [--out FILE.json]\n\n"
          "  --size BYTES     object size, K/M/G suffixes (default 256M)\n"
          "  --repeats N      GETs per way; the best counts (default 5)\n"
          "  --out FILE.json  results (default bench-gpu-get.json)\n"
          "Starts `skyway server` on 127.0.0.1 and GETs one object into GPU memory: direct,\n"
          "HTTP + cudaMemcpy, and a pinned cudaMemcpy alone. Target: direct >= 80%% of pinned.\n");
}

Result<GpuGetOptions> ParseGpuGet(const std::vector<std::string>& args) {
  GpuGetOptions o;
  for (size_t i = 0; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return Status::Invalid(args[i] + " needs a value");
    const std::string& flag = args[i];
    const std::string& value = args[i + 1];
    if (flag == "--size") {
      auto size = bench::ParseSize(value);
      if (!size || *size == 0 || *size > (64ull << 30)) return Status::Invalid("bad --size '" + value + "'");
      o.size = *size;
    } else if (flag == "--repeats") {
      auto n = ParseUint64(value);
      if (!n || *n == 0 || *n > 1000) return Status::Invalid("bad --repeats '" + value + "'");
      o.repeats = static_cast<int>(*n);
    } else if (flag == "--out") {
      o.out = value;
    } else {
      return Status::Invalid("unknown option " + flag);
    }
  }
  return o;
}

struct Way {
  const char* name;
  double best_s = -1;  // < 0: not measured
};

// The best of `repeats` runs of fn (seconds), or its first error.
Status Best(int repeats, const std::function<Status()>& fn, Way* way) {
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status st = fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) return st;
    if (way->best_s < 0 || s < way->best_s) way->best_s = s;
  }
  return Status::Ok();
}

Status Run(const GpuGetOptions& o, const bench::Target& target, std::vector<Way>* ways) {
  ASSIGN_OR_RETURN(auto device, dgpu::DeviceAllocation::Make(o.size));
  std::string data(o.size, '\0');
  bench::FillPattern(data.data(), o.size, o.size);
  client::Options http_options = target.options;
  http_options.direct = false;
  ASSIGN_OR_RETURN(auto http, client::Client::Create(http_options));
  RETURN_IF_ERROR(http->CreateBucket(target.bucket));
  RETURN_IF_ERROR(http->ParallelPut(target.bucket, "object", data.data(), o.size).status());
  ASSIGN_OR_RETURN(auto direct, client::Client::Create(target.options));
  Way& d = (*ways)[0];
  Way& h = (*ways)[1];
  Way& p = (*ways)[2];
  {
    ASSIGN_OR_RETURN(auto region, direct->RegisterDevice(device->data(), o.size));
    RETURN_IF_ERROR(Best(o.repeats, [&]() -> Status {
      ASSIGN_OR_RETURN(client::TransferResult r, direct->ParallelGet(target.bucket, "object", device->data(), o.size));
      if (r.transport != client::Transport::kDirect) return Status::Internal("the GET fell back to HTTP");
      return Status::Ok();
    }, &d));
  }  // deregistered before the memory is reused
  std::string back(o.size, '\0');
  RETURN_IF_ERROR(dgpu::CopyToHost(back.data(), device->data(), o.size));
  if (!bench::MatchesPattern(back.data(), o.size, o.size)) {
    return Status::Internal("the bytes in GPU memory differ from the object");
  }
  std::string bounce(o.size, '\0');
  RETURN_IF_ERROR(Best(o.repeats, [&]() -> Status {
    RETURN_IF_ERROR(http->ParallelGet(target.bucket, "object", bounce.data(), o.size).status());
    return dgpu::CopyToDevice(device->data(), bounce.data(), o.size);
  }, &h));
  ASSIGN_OR_RETURN(p.best_s, dgpu::PinnedCopySeconds(device->data(), o.size, o.repeats));
  RETURN_IF_ERROR(http->Delete(target.bucket, "object"));
  return http->DeleteBucket(target.bucket);
}

}  // namespace

int BenchGpuGetCommand(const std::vector<std::string>& args) {
  GpuGetOptions o;
  if (auto rc = ParseOrExit("bench gpu-get", args, GpuGetUsage, ParseGpuGet, &o)) return *rc;
  if (!dgpu::Available()) {
    fprintf(stderr, "skyway bench gpu-get: no CUDA device here (it GETs into GPU memory)\n");
    return 1;
  }
  auto server = bench::ChildServer::Start();
  if (!server.ok()) {
    fprintf(stderr, "skyway bench gpu-get: starting the server: %s\n", server.status().message().c_str());
    return 1;
  }
  bench::Target target;
  target.options.endpoint = (*server)->endpoint();
  target.options.access_key = (*server)->access_key();
  target.options.secret_key = (*server)->secret_key();
  target.bucket = "bench-gpu-get";
  std::vector<Way> ways = {{"direct GET into GPU memory"}, {"HTTP GET + cudaMemcpy"}, {"pinned cudaMemcpy H2D"}};
  Status st = Run(o, target, &ways);
  Status stop = (*server)->Stop();
  if (!st.ok()) {
    fprintf(stderr, "skyway bench gpu-get: %s\n", st.ToString().c_str());
    return 1;
  }
  printf("GET of %s into GPU memory, best of %d:\n", FormatBytes(o.size).c_str(), o.repeats);
  nlohmann::json json = {{"size", o.size}, {"repeats", o.repeats}, {"device", vector::GpuDevice()}};
  for (const Way& way : ways) {
    const double gbps = o.size / way.best_s / 1e9;
    printf("  %-28s %8.2f GB/s\n", way.name, gbps);
    json["ways"].push_back({{"name", way.name}, {"seconds", way.best_s}, {"gb_per_s", gbps}});
  }
  const double ratio = ways[2].best_s / ways[0].best_s;  // direct bandwidth / pinned bandwidth
  printf("direct / pinned: %.0f%% (target >= 80%%): %s\n", 100 * ratio, ratio >= 0.8 ? "PASS" : "FAIL");
  json["direct_over_pinned"] = ratio;
  json["target"] = 0.8;
  json["pass"] = ratio >= 0.8;
  Status written = bench::WriteTextFile(o.out, json.dump(2) + "\n");
  if (!written.ok()) fprintf(stderr, "skyway bench gpu-get: %s\n", written.ToString().c_str());
  if (!stop.ok()) fprintf(stderr, "skyway bench gpu-get: stopping the server: %s\n", stop.ToString().c_str());
  return written.ok() ? 0 : 1;
}

}  // namespace skyway::cli
