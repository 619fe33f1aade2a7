// caf-node: reads a config file and command-line overrides, validates every
// key, and runs a node. All logic lives in lib/node.

#include <cstdio>
#include <string>
#include <vector>

#include "node/node_config.hpp"
#include "node/run.hpp"

namespace {

struct arguments {
  bool help = false;
  bool check = false;
  std::string config_file;
  std::vector<std::string> overrides;
};

// Returns an error message, or "" on success.
std::string parse_arguments(int argc, char** argv, arguments& out) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--check") {
      out.check = true;
    } else if (arg == "--config" || arg == "--config-file") {
      if (i + 1 == argc)
        return "argument '" + arg + "' needs a file name";
      out.config_file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      out.config_file = arg.substr(9);
    } else if (arg.rfind("--config-file=", 0) == 0) {
      out.config_file = arg.substr(14);
    } else if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos
               && arg.find('.') < arg.find('=')) {
      out.overrides.emplace_back(std::move(arg));
    } else {
      return "unknown argument '" + arg
             + "' (expected --config FILE, --check, --help or "
               "--section.key=value)";
    }
  }
  return {};
}

} // namespace

int main(int argc, char** argv) {
  arguments args;
  if (auto err = parse_arguments(argc, argv, args); !err.empty()) {
    std::fprintf(stderr, "caf-node: %s\n", err.c_str());
    return 2;
  }
  if (args.help) {
    std::fputs(cafray::node::render_help().c_str(), stdout);
    return 0;
  }
  auto cfg = cafray::node::load_config(args.config_file, args.overrides);
  if (!cfg) {
    std::fprintf(stderr, "caf-node: %s\n",
                 cafray::node::message_of(cfg.error()).c_str());
    return 1;
  }
  if (args.check) {
    std::puts("config OK");
    return 0;
  }
  return cafray::node::run(cfg->runtime);
}
