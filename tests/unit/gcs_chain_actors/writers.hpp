#pragma once

// Writers that keep a chain client busy with reads and writes of unique
// values, recording every operation for the linearizability checker.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "proto/gcs_chain_actor.hpp"
#include "../../linearizability/history.hpp"

namespace cafray::test {

/// Operations of every writer; shared between writer actors and the test.
class history_log {
public:
  history_log() : start_(std::chrono::steady_clock::now()) {
    // nop
  }

  /// Nanoseconds since the log was made.
  int64_t now() const;

  void add(lincheck::operation op);

  lincheck::history snapshot() const;

  /// Operations recorded so far.
  size_t size() const;

  std::atomic<size_t> finished{0};
  std::atomic<size_t> writes_acked{0};
  std::atomic<size_t> failures{0};

private:
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mtx_;
  lincheck::history history_;
};

/// What one writer does: `ops` operations, one at a time, each a write
/// (unique value "c<client>-<i>") with probability 3/4, else a read, on a
/// key drawn from `keys` keys ("key-0" ...).
struct writer_plan {
  uint64_t client = 0;
  size_t ops = 0;
  size_t keys = 0;
  uint64_t seed = 0;
};

/// Spawns a writer over `client`; it quits when done, after counting
/// itself in `log->finished`.
caf::actor spawn_writer(caf::actor_system& sys, gcs_chain_client_actor client,
                        writer_plan plan, std::shared_ptr<history_log> log);

} // namespace cafray::test
