#include "node/run.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include <pthread.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "api/detail/runtime_state.hpp"
#include "api/runtime.hpp"
#include "common/error.hpp"

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

/// The objects sealed in this node's store go to another live node (the
/// head, listed first) before this one leaves: its store fetches them from
/// here and records where they are, so their readers still find them. At
/// most `timeout_ms`; prints how many were copied.
void hand_over_objects(caf::scoped_actor& self, uint64_t timeout_ms) {
  auto& r = cafray::detail::rt();
  auto ids = r.objects ? r.objects->sealed_ids() : std::vector<object_id>{};
  if (ids.empty() || !r.directory)
    return;
  std::vector<member_info> members;
  self->request(r.directory, std::chrono::seconds{5}, members_atom_v)
    .receive([&](std::vector<member_info>& xs) { members = std::move(xs); },
             [&](const caf::error&) {});
  const member_info* target = nullptr;
  for (auto& m : members)
    if (m.id != r.node && m.store) {
      target = &m;
      break;
    }
  if (!target) {
    std::printf("caf-node: draining: %zu objects stay (no other node)\n",
                ids.size());
    return;
  }
  // One sender, so the fetch is handled before the wait.
  caf::anon_send(target->store, fetch_atom_v, ids);
  auto wait = std::chrono::milliseconds{std::max<uint64_t>(timeout_ms, 1000)};
  size_t copied = 0;
  self
    ->request(target->store, wait + std::chrono::seconds{5}, wait_atom_v, ids,
              static_cast<uint64_t>(ids.size()), caf::timespan{wait})
    .receive(
      [&](const std::vector<uint8_t>& ready) {
        for (auto x : ready)
          copied += x != 0 ? 1 : 0;
      },
      [&](const caf::error&) {});
  std::printf("caf-node: draining: %zu of %zu objects copied to %s:%u\n",
              copied, ids.size(), target->host.c_str(),
              static_cast<unsigned>(target->port));
  std::fflush(stdout);
}

/// A node leaving: the head marks it draining (nodes table, status), its
/// raylet takes no new work, gives back what it has not started and lets
/// the running tasks finish for at most `timeout_ms`. Prints what it did.
void drain(uint64_t timeout_ms) {
  auto& r = cafray::detail::rt();
  std::printf("caf-node: draining (running tasks get at most %llu ms)\n",
              static_cast<unsigned long long>(timeout_ms));
  std::fflush(stdout);
  if (r.directory)
    caf::anon_send(r.directory, drain_atom_v, r.node);
  caf::scoped_actor self{*r.sys};
  self
    ->request(r.raylet,
              std::chrono::milliseconds{timeout_ms} + std::chrono::seconds{10},
              drain_atom_v, timeout_ms)
    .receive(
      [&](const drain_report& rep) {
        std::printf("caf-node: draining: %llu tasks handed back, %llu "
                    "passed on on arrival, %llu running finished, %llu "
                    "still running retried elsewhere, %llu failed\n",
                    static_cast<unsigned long long>(rep.handed_back),
                    static_cast<unsigned long long>(rep.redirected),
                    static_cast<unsigned long long>(rep.finished),
                    static_cast<unsigned long long>(rep.retried),
                    static_cast<unsigned long long>(rep.failed));
      },
      [&](const caf::error& err) {
        std::printf("caf-node: draining failed: %s\n", render(err).c_str());
      });
  std::fflush(stdout);
  // The last results left the worker processes just before they reported
  // done; a moment lets those routed through this process (and their
  // copies for the store) arrive.
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  hand_over_objects(self, timeout_ms);
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
  // A node drains first; the head is the cluster and just stops.
  if (cfg.role == "node")
    drain(cfg.drain_timeout_ms);
  cafray::shutdown();
  std::printf("caf-node: stopped\n");
  std::fflush(stdout);
  return 0;
}

} // namespace cafray::node
