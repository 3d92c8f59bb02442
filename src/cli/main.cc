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
          "  server   run the S3-compatible object store (skyway server --help)\n");
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
  if (command == "server") return skyway::cli::ServerCommand(args);
  if (command == "--help" || command == "-h" || command == "help") {
    Usage();
    return 0;
  }
  fprintf(stderr, "skyway: unknown command '%s'\n", command.c_str());
  Usage();
  return 2;
}
