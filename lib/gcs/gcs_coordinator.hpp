#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "gcs/chain_coordinator.hpp"
#include "proto/gcs_chain_actor.hpp"

namespace cafray {

/// How the coordinator of one shard runs.
struct gcs_coordinator_options {
  uint32_t shard = 0;

  /// The chain at startup, head first. The coordinator installs it once
  /// every one of them announced itself.
  std::vector<replica_id> replicas;

  /// How long a lease lasts; a dead tail is replaced only after its lease
  /// ran out, so this bounds the stall after a tail dies.
  std::chrono::milliseconds lease{300};

  /// Added to every lease before a replica that may still act as tail is
  /// removed: covers clocks that run at slightly different rates.
  std::chrono::milliseconds grace{20};

  /// How often the failure detector looks for expired leases.
  std::chrono::milliseconds check_interval{25};

  /// Starts a replica under a new id to replace one the chain lost; the new
  /// replica announces itself to the coordinator it is given and joins at
  /// the tail like any replacement. An invalid handle if it could not be
  /// started: the coordinator tries again a second later. Empty where someone else
  /// starts the replicas (cafray-gcs processes). The coordinator keeps the
  /// chain and its joiners at the size of `replicas`.
  std::function<gcs_replica_actor(replica_id, gcs_coordinator_actor)>
    spawn_replacement;

  /// Where the configuration is kept across restarts of the coordinator;
  /// empty for nowhere. When the file exists, its chain replaces
  /// `replicas` and the epochs continue after its epoch.
  std::string state_file;
};

/// State of a shard's coordinator.
struct gcs_coordinator_state {
  static inline const char* name = "gcs_coordinator";

  gcs_coordinator_options options;

  /// The chain to start with, and the epoch it starts at.
  chain_config initial;

  /// Membership logic; empty until every initial replica announced itself.
  std::unique_ptr<chain_coordinator> logic;

  /// Every replica that announced itself.
  std::map<replica_id, gcs_replica_actor> replicas;

  /// Where each replica's process accepts connections, as it announced.
  std::map<replica_id, std::pair<std::string, uint16_t>> endpoints;

  /// The replica behind each monitored address.
  std::map<caf::actor_addr, replica_id> monitored;

  /// Replacements waiting to join, in order of arrival; one joins at a time.
  std::deque<replica_id> joiners;

  /// Removals that wait for a lease to run out.
  std::set<replica_id> waiting_removals;

  /// Replicas `spawn_replacement` started that have neither joined nor
  /// died yet.
  std::set<replica_id> replacements;

  /// Whether this coordinator removed a member: only then it starts
  /// replacements. Until then a short chain (a restart that found fewer
  /// members on disk) fills with replicas started with it, which may still
  /// be on their way.
  bool replacing = false;

  /// The highest replica id seen or given to a replacement.
  replica_id last_id = 0;

  /// When `spawn_replacement` last failed.
  std::optional<chain_time> replacement_failed;

  /// When the failure detector last ran: a timer that fires late means the
  /// coordinator did not run, and heartbeats may be waiting unread.
  std::optional<chain_time> last_check;
};

using gcs_coordinator_pointer
  = gcs_coordinator_actor::stateful_pointer<gcs_coordinator_state>;

/// The behavior of a shard's coordinator.
gcs_coordinator_actor::behavior_type
gcs_coordinator(gcs_coordinator_pointer self, gcs_coordinator_options options);

/// Reads a configuration written by the coordinator; none if the file does
/// not exist or does not parse.
std::optional<chain_config> load_chain_config(const std::string& path);

/// Writes `config` to `path` atomically (a new file renamed over the old).
bool save_chain_config(const std::string& path, const chain_config& config);

} // namespace cafray
