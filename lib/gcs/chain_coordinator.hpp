#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "gcs/chain.hpp"

namespace cafray {

/// What a change of membership did.
enum class chain_repair {
  none,           // nothing to do: not a member, or a join already running
  wait_for_lease, // the replica may still act as tail: retry at not_before
  head_removed,   // the successor is the new head
  middle_removed, // the predecessor resends to its new successor
  tail_removed,   // the predecessor is the new tail and acknowledges
  shard_lost,     // the last replica is gone
  join_started,   // the tail sends its state to the replacement
  join_cancelled, // the replacement died before joining
  tail_joined,    // the replacement is the new tail
};

/// The outcome of a membership change: the configuration after it and the
/// messages that carry it out.
struct chain_reconfiguration {
  chain_repair repair = chain_repair::none;
  chain_config config;
  /// For `wait_for_lease`: the earliest time the removal may happen.
  std::optional<chain_time> not_before;
  chain_outbox messages;
};

/// Membership of one shard's chain, without actors. The coordinator decides
/// who is in the chain and grants leases; the replicas derive their repairs
/// from the configurations it installs (see `chain_replica`), so a replica
/// that misses a configuration catches up with any later one.
///
/// A replica that has been tail at any time may still believe it is, and
/// would then acknowledge writes and serve reads: such a replica is removed
/// only once its lease has run out. A replica that never was tail is removed
/// at once, which keeps the stall after a head or middle failure short.
class chain_coordinator {
public:
  using clock_function = std::function<chain_time()>;

  /// Starts with `initial`, at epoch 1 if it has none.
  chain_coordinator(chain_config initial, chain_clock::duration lease,
                    clock_function clock);

  /// Installs the initial configuration on every replica.
  chain_outbox start();

  /// Handles heartbeats and finished snapshots.
  chain_outbox receive(const chain_address& from, const chain_payload& msg);

  /// Takes `dead` out of the chain, or cancels its join.
  chain_reconfiguration remove(replica_id dead);

  /// Starts copying the tail's state to `joiner`, which joins at the tail
  /// once it has installed the copy. One join at a time.
  chain_reconfiguration begin_join(replica_id joiner);

  const chain_config& config() const noexcept {
    return config_;
  }

  /// Members whose lease ran out: the failure detector's suspects. None
  /// while no member's lease runs: then the coordinator is the one that
  /// heard nothing (starved, or cut off), and removing every member would
  /// only lose the shard.
  std::vector<replica_id> expired() const;

  /// The coordinator itself did not run for `pause` (its timer fired that
  /// late): heartbeats may wait unread meanwhile, so every lease is
  /// extended by it. Only delays removals, which is always safe.
  void excuse(chain_clock::duration pause);

  /// When the last heartbeat of member `id` arrived.
  std::optional<chain_time> last_heartbeat(replica_id id) const;

  /// The replica joining now, if any.
  std::optional<replica_id> joiner() const;

  chain_clock::duration lease() const noexcept {
    return lease_;
  }

private:
  struct join_state {
    replica_id joiner = 0;
    uint64_t attempt = 0;
  };

  /// Moves to `next`: installs it on every member.
  void install(chain_config next, chain_reconfiguration& result);

  /// Asks the tail for a snapshot for the current join, as a new attempt.
  void request_snapshot(chain_reconfiguration& result);

  void send(replica_id to, chain_payload msg, chain_outbox& out) const;

  chain_config config_;
  chain_clock::duration lease_;
  clock_function clock_;
  /// Last lease grant per member; the lease ends `lease_` later.
  std::map<replica_id, chain_time> granted_;
  /// Members that may still believe they are the tail: removed only once
  /// their lease ran out. A member leaves this set when it heartbeats from
  /// the current configuration in which it is not the tail.
  std::set<replica_id> ever_tail_;
  std::set<replica_id> removed_;
  std::optional<join_state> join_;
  uint64_t attempts_ = 0;
};

} // namespace cafray
