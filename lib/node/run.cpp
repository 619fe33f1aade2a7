#include "node/run.hpp"

#include <csignal>
#include <cstdio>
#include <thread>

#include <pthread.h>

#include "api/detail/runtime_state.hpp"
#include "api/runtime.hpp"

namespace cafray::node {

namespace {

// Blocks SIGINT and SIGTERM in this thread and in every thread it starts
// afterwards, so that only sigwait() below sees them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

} // namespace

int run(const runtime_config& cfg) {
  auto signals = block_stop_signals();
  // The runtime starts after the mask, so its threads inherit it.
  auto cpus = cfg.num_cpus != 0 ? cfg.num_cpus
                                : std::thread::hardware_concurrency();
  std::printf("caf-node: mode %s, cpus %u%s, shards %u, gcs dir %s\n",
              cfg.role.empty() ? "embedded" : cfg.role.c_str(), cpus,
              cfg.num_cpus == 0 ? " (detected)" : "", cfg.gcs_shards,
              cfg.gcs_directory.empty() ? "(temporary)"
                                        : cfg.gcs_directory.c_str());
  std::fflush(stdout);
  try {
    cafray::init(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "caf-node: cannot start: %s\n", e.what());
    return 1;
  }
  if (!cfg.role.empty())
    std::printf("caf-node: %s listening on %s\n", cfg.role.c_str(),
                cafray::detail::rt().cfg.host.empty()
                  ? "?"
                  : (cafray::detail::rt().cfg.host + ":"
                     + std::to_string(cafray::detail::rt().cfg.port))
                      .c_str());
  std::printf("caf-node: running\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("caf-node: %s received, shutting down\n",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  cafray::shutdown();
  std::printf("caf-node: stopped\n");
  std::fflush(stdout);
  return 0;
}

} // namespace cafray::node
