#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

void Usage() {
  fprintf(stderr,
          "usage: skyway <command> [options]\n\n"
          "commands:\n"
          "  server   run the S3-compatible object store (skyway server --help)\n"
          "  vectordb run the vector database, Milvus REST v2 (skyway vectordb --help)\n"
          "  mb       make a bucket: skyway mb s3://BUCKET\n"
          "  rb       remove a bucket: skyway rb [--force] s3://BUCKET\n"
          "  ls       list buckets, or objects: skyway ls [--recursive] [s3://BUCKET[/PREFIX]]\n"
          "  cp       copy a file or object: skyway cp SRC DST (local path or s3://BUCKET/KEY)\n"
          "  rm       delete objects: skyway rm [--recursive] s3://BUCKET/KEY\n"
          "  stat     show an object's metadata: skyway stat s3://BUCKET/KEY\n"
          "  bench    measure GET/PUT or index builds, HTTP vs direct path, or the vector DB:\n"
          "           skyway bench get|put [--sizes ...], skyway bench index [--dataset ...],\n"
          "           skyway bench vectordb [--rows ...]\n\n"
          "`skyway <command> --help` shows a command's options (--endpoint, --no-direct, ...).\n");
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    Usage();
    return 2;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  namespace cli = skyway::cli;
  if (command == "server") return cli::ServerCommand(args);
  if (command == "vectordb") return cli::VectordbCommand(args);
  if (command == "mb") return cli::MbCommand(args);
  if (command == "rb") return cli::RbCommand(args);
  if (command == "ls") return cli::LsCommand(args);
  if (command == "cp") return cli::CpCommand(args);
  if (command == "rm") return cli::RmCommand(args);
  if (command == "stat") return cli::StatCommand(args);
  if (command == "bench") return cli::BenchCommand(args);
  if (command == "--help" || command == "-h" || command == "help") {
    Usage();
    return 0;
  }
  fprintf(stderr, "skyway: unknown command '%s'\n", command.c_str());
  Usage();
  return 2;
}
