#pragma once

// One shard's chain in one actor system: a coordinator, replicas on LMDB in
// a test directory, clients, and blocking helpers around them.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "gcs/gcs_chain_client.hpp"
#include "gcs/gcs_coordinator.hpp"
#include "gcs/gcs_replica.hpp"
#include "../common/test_directory.hpp"

namespace cafray::test {

/// Timings short enough for tests, long enough for a loaded 2-core machine.
gcs_coordinator_options test_coordinator_options(size_t replicas);

class chain_cluster {
public:
  static constexpr auto timeout = std::chrono::seconds(20);

  /// Starts a coordinator for replicas 1..`replicas` and the replicas, and
  /// waits until the chain is installed.
  explicit chain_cluster(size_t replicas,
                         gcs_coordinator_options options = {});

  /// Stops every actor it started.
  ~chain_cluster();

  caf::actor_system& system() {
    return *sys_;
  }

  /// The directory of replica `id`.
  std::string directory(replica_id id) const;

  /// Spawns replica `id` over its directory; a replacement when the chain
  /// runs already.
  gcs_replica_actor spawn_replica(replica_id id);

  /// Kills replica `id` (exit reason kill) and waits until it is gone.
  void kill(replica_id id);

  /// Kills every replica and the coordinator, then starts the coordinator
  /// again with the same options (and state file) and the replicas that
  /// were members, over their directories.
  void restart_all();

  /// The coordinator's configuration.
  wire::chain_configuration config();

  /// Replica ids of the coordinator's configuration, head first.
  std::vector<replica_id> chain();

  /// Polls the configuration until `pred` holds; false after `timeout`.
  bool wait_for_chain(std::function<bool(const std::vector<replica_id>&)> pred);

  /// Polls replica statuses until every member applied `seq`.
  bool wait_for_applied(uint64_t seq);

  /// What replica `id` reports.
  caf::expected<wire::chain_replica_status> status(replica_id id);

  gcs_chain_client_actor spawn_client(gcs_chain_client_options options = {});

  caf::expected<uint64_t> put(const gcs_chain_client_actor& client,
                              uint8_t table, std::string key,
                              std::string value);

  caf::expected<uint64_t> erase(const gcs_chain_client_actor& client,
                                uint8_t table, std::string key);

  caf::expected<wire::chain_read_result>
  get(const gcs_chain_client_actor& client, uint8_t table, std::string key);

  /// Keeps `handle` to kill it at the end.
  void adopt(caf::actor handle) {
    others_.push_back(std::move(handle));
  }

private:
  void spawn_coordinator();

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> self_;
  test_directory dir_;
  gcs_coordinator_options options_;
  gcs_coordinator_actor coordinator_;
  std::map<replica_id, gcs_replica_actor> replicas_;
  std::vector<caf::actor> others_;
};

} // namespace cafray::test
