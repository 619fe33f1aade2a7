// caf-node: reads a config file and command-line overrides, validates every
// key, and runs a node. All logic lives in lib/node.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "node/node_config.hpp"
#include "node/run.hpp"
#include "node/status.hpp"
#include "node/worker_main.hpp"

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

int status_command(int argc, char** argv) {
  std::string address;
  if (auto env = std::getenv("CAFRAY_ADDRESS"))
    address = env;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--address" && i + 1 < argc) {
      address = argv[++i];
    } else if (arg.rfind("--address=", 0) == 0) {
      address = arg.substr(10);
    } else {
      std::fprintf(stderr,
                   "caf-node status: unknown argument '%s' (expected "
                   "--address HOST:PORT)\n",
                   arg.c_str());
      return 2;
    }
  }
  if (address.empty()) {
    std::fprintf(stderr, "caf-node status: needs --address HOST:PORT (or "
                         "CAFRAY_ADDRESS)\n");
    return 2;
  }
  auto rc = cafray::node::run_status(address);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}

/// `caf-node worker --agent HOST:PORT --index N` (or `--actor HI:LO`):
/// started by a node's raylet.
int worker_command(int argc, char** argv) {
  std::string agent;
  std::string actor;
  long index = -1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--agent")
      agent = argv[i + 1];
    else if (arg == "--index")
      index = std::strtol(argv[i + 1], nullptr, 10);
    else if (arg == "--actor")
      actor = argv[i + 1];
  }
  if (agent.empty() || (index < 0 && actor.empty())) {
    std::fprintf(stderr, "caf-node worker: needs --agent HOST:PORT and "
                         "--index N or --actor HI:LO (a node's raylet starts "
                         "workers)\n");
    return 2;
  }
  auto rc = cafray::node::run_worker(
    agent, static_cast<uint32_t>(index < 0 ? 0 : index), actor);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "status")
    return status_command(argc, argv);
  if (argc > 1 && std::string{argv[1]} == "worker")
    return worker_command(argc, argv);
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
