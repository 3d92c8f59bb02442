// cli: the `skyway` subcommands. Each takes the arguments after its name and returns the exit
// status.
#pragma once

#include <string>
#include <vector>

namespace skyway::cli {

int ServerCommand(const std::vector<std::string>& args);

}  // namespace skyway::cli
