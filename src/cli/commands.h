// cli: the `skyway` subcommands. Each takes the arguments after its name and returns the exit
// status.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/common.h"

namespace skyway::cli {

// Every command's start: --help prints usage and gives 0; options that do not parse print
// "skyway <name>: <error>" and usage and give 2; otherwise nullopt, with *out set.
template <typename Options>
std::optional<int> ParseOrExit(const char* name, const std::vector<std::string>& args,
                               void (*usage)(),
                               Result<Options> (*parse)(const std::vector<std::string>&),
                               Options* out) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
  }
  auto parsed = parse(args);
  if (!parsed.ok()) {
    fprintf(stderr, "skyway %s: %s\n", name, parsed.status().message().c_str());
    usage();
    return 2;
  }
  *out = std::move(parsed).value();
  return std::nullopt;
}


int ServerCommand(const std::vector<std::string>& args);
// `skyway vectordb` (vectordb_command.cc): the Milvus REST v2 vector database.
int VectordbCommand(const std::vector<std::string>& args);

// `skyway bench get|put` (bench_command.cc): HTTP vs the direct data path, one run, a table, JSON
// and an SVG chart. Exit 0 when every cell ran, 1 when one failed, 2 for a usage error.
int BenchCommand(const std::vector<std::string>& args);
// `skyway bench index` (bench_index.cc): vectors in the store -> index -> index in the store, per
// index type, HTTP vs direct, with recall, QPS and a raw hnswlib baseline. Exit codes as bench.
int BenchIndexCommand(const std::vector<std::string>& args);
// `skyway bench vectordb` (bench_vectordb.cc): Milvus REST v2 insert and search throughput of
// `skyway vectordb`, HNSW build time, targets PASS/FAIL, JSON. Exit codes as bench.
int BenchVectordbCommand(const std::vector<std::string>& args);
// `skyway bench gpu-get` (bench_gpu.cc): a GET into GPU memory, direct vs HTTP + copy vs a pinned
// cudaMemcpy, target PASS/FAIL, JSON. Exit 1 without a CUDA device.
int BenchGpuGetCommand(const std::vector<std::string>& args);

// The client commands (client_commands.cc), in the manner of `aws s3`: exit 0 on success, 1 when
// the operation failed (the S3 error code and message on stderr), 2 for a usage error.
int MbCommand(const std::vector<std::string>& args);    // mb s3://BUCKET
int RbCommand(const std::vector<std::string>& args);    // rb [--force] s3://BUCKET
int LsCommand(const std::vector<std::string>& args);    // ls [-r] [s3://BUCKET[/PREFIX]]
int CpCommand(const std::vector<std::string>& args);    // cp SRC DST
int RmCommand(const std::vector<std::string>& args);    // rm [-r] s3://BUCKET/KEY
int StatCommand(const std::vector<std::string>& args);  // stat s3://BUCKET/KEY

}  // namespace skyway::cli
