#pragma once

// A deterministic network for the chain logic: replicas, a coordinator and
// clients exchange the envelopes the logic returns over FIFO links; which
// link delivers next is chosen by a seeded random generator, so every run
// with the same seed is the same run.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gcs/chain.hpp"
#include "gcs/chain_coordinator.hpp"
#include "gcs/chain_replica.hpp"
#include "gcs/chain_store.hpp"

namespace cafray::test {

using namespace std::chrono_literals;

/// A message as some endpoint received it.
struct delivery {
  size_t index = 0;
  chain_envelope envelope;
};

class chain_network {
public:
  using link = std::pair<chain_address, chain_address>;

  /// Opens the store of a replica; called again on a restart, after the
  /// previous store of that replica was destroyed.
  using store_factory = std::function<std::unique_ptr<chain_store>(replica_id)>;

  /// Starts `replicas` replicas (ids 1..n) in one chain, installs the
  /// configuration and grants every replica a lease. Stores are
  /// `memory_chain_store`s unless `stores` opens others.
  chain_network(size_t replicas, uint64_t seed,
                chain_clock::duration lease = 100ms,
                store_factory stores = nullptr);

  chain_network(const chain_network&) = delete;
  chain_network& operator=(const chain_network&) = delete;

  chain_time now() const noexcept {
    return now_;
  }

  void advance(chain_clock::duration amount) noexcept {
    now_ += amount;
  }

  chain_coordinator& coordinator() noexcept {
    return coordinator_;
  }

  chain_replica& replica(replica_id id);

  /// The replica's store; requires a `memory_chain_store`.
  memory_chain_store& store(replica_id id);

  /// The replica's store, whatever it is.
  chain_store& any_store(replica_id id);

  /// Every replica and the coordinator stop at once, losing whatever was on
  /// its way, and start again: each replica from its store (reopened when
  /// the network has a store factory), the coordinator from its last
  /// configuration, as if it had persisted it, with a higher epoch.
  void restart_all();

  /// Adds a fresh, empty replica outside the chain.
  replica_id add_replica();

  /// Stops a replica for good; with `lose_in_flight` the messages it sent
  /// that are still on their way disappear too.
  void kill(replica_id id, bool lose_in_flight = false);

  bool killed(replica_id id) const {
    return killed_.count(id) > 0;
  }

  /// A paused replica receives nothing and sends nothing until resumed.
  void pause(replica_id id);

  void resume(replica_id id);

  /// Replicas not killed.
  std::vector<replica_id> alive() const;

  /// Members of the coordinator's configuration that are not killed.
  std::vector<replica_id> live_members() const;

  /// Queues messages on their links.
  void post(chain_outbox out);

  /// Runs the reconfiguration's messages through the network.
  chain_repair apply(chain_reconfiguration change);

  /// Delivers one message from a random deliverable link; false if none.
  bool deliver_one();

  /// Delivers until nothing is deliverable; returns how many.
  size_t run(size_t limit = 1000000);

  /// Delivers up to `count` messages from one link.
  size_t deliver(const chain_address& from, const chain_address& to,
                 size_t count = SIZE_MAX);

  size_t pending(const chain_address& from, const chain_address& to) const;

  /// A held link keeps its messages until released.
  void hold(const chain_address& from, const chain_address& to);

  void release(const chain_address& from, const chain_address& to);

  /// Every live, running replica sends a heartbeat.
  void heartbeat_all();

  /// Advances the clock by a full lease and renews the leases of every live,
  /// running replica: dead ones become removable.
  void outlive_leases();

  /// Sends a write of `key` to the head of the current configuration and
  /// returns its request number.
  uint64_t write(chain_client_id client, const std::string& key,
                 std::optional<std::string> value);

  /// Sends request `request` again, to the current head.
  void retry_write(chain_client_id client, uint64_t request);

  /// Sends a read of `key` to `to` (default: the current tail).
  uint64_t read(chain_client_id client, const std::string& key,
                std::optional<replica_id> to = std::nullopt,
                std::optional<chain_epoch> epoch = std::nullopt);

  /// The first acknowledgement of a write, with the replica that sent it.
  std::optional<std::pair<replica_id, chain_write_ack>>
  acked(chain_client_id client, uint64_t request) const;

  /// The first answer to a read.
  std::optional<delivery> answer(chain_client_id client,
                                 uint64_t request) const;

  /// Everything clients received, in order.
  const std::vector<delivery>& client_deliveries() const noexcept {
    return to_clients_;
  }

  /// Every message delivered so far, in order.
  const std::vector<delivery>& deliveries() const noexcept {
    return delivered_;
  }

  /// The write request `request` of `client` was, for retries.
  struct sent_write {
    std::string key;
    std::optional<std::string> value;
  };

  const std::map<uint64_t, sent_write>& writes_of(chain_client_id client) {
    return writes_[client];
  }

private:
  struct node {
    std::unique_ptr<chain_store> store;
    std::unique_ptr<chain_replica> replica;
  };

  std::unique_ptr<chain_store> open_store(replica_id id);

  bool deliverable(const link& key) const;

  void dispatch(chain_envelope envelope);

  chain_time now_{};
  std::mt19937_64 rng_;
  store_factory stores_;
  std::map<replica_id, std::unique_ptr<node>> nodes_;
  chain_coordinator coordinator_;
  std::map<link, std::deque<chain_envelope>> links_;
  std::set<link> held_;
  std::set<replica_id> killed_;
  std::set<replica_id> paused_;
  std::vector<delivery> delivered_;
  std::vector<delivery> to_clients_;
  std::map<std::pair<chain_client_id, uint64_t>,
           std::pair<replica_id, chain_write_ack>>
      acks_;
  std::map<chain_client_id, std::map<uint64_t, sent_write>> writes_;
  std::map<chain_client_id, uint64_t> next_request_;
};

/// Shorthands for addresses.
inline chain_address rep(replica_id id) {
  return chain_address::of_replica(id);
}

inline chain_address cli(chain_client_id id) {
  return chain_address::of_client(id);
}

inline chain_address coord() {
  return chain_address::of_coordinator();
}

} // namespace cafray::test
