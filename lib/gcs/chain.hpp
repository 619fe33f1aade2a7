#pragma once

// Chain replication of one GCS shard, without actors: the vocabulary shared
// by `chain_replica` and `chain_coordinator`. Everything here is plain data;
// the actor layer maps each payload onto a CAF message and routes the
// envelopes the logic returns.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cafray {

using replica_id = uint64_t;
using chain_client_id = uint64_t;
using chain_epoch = uint64_t;
using chain_seq = uint64_t;
using chain_clock = std::chrono::steady_clock;
using chain_time = chain_clock::time_point;

/// Who is in a shard's chain, in order: head first, tail last. Every change
/// of membership makes a new configuration with a higher epoch.
struct chain_config {
  uint32_t shard = 0;
  chain_epoch epoch = 0;
  std::vector<replica_id> replicas;

  bool empty() const noexcept {
    return replicas.empty();
  }

  bool contains(replica_id id) const noexcept;

  /// Requires a non-empty chain.
  replica_id head() const noexcept {
    return replicas.front();
  }

  /// Requires a non-empty chain.
  replica_id tail() const noexcept {
    return replicas.back();
  }

  /// The replica before `id`; none for the head or a non-member.
  std::optional<replica_id> predecessor(replica_id id) const noexcept;

  /// The replica after `id`; none for the tail or a non-member.
  std::optional<replica_id> successor(replica_id id) const noexcept;
};

/// One row of the shard's tables: a put, or an erase without `value`.
struct chain_write {
  uint8_t table = 0;
  std::string key;
  std::optional<std::string> value;
};

/// A write once the head has ordered it. `client` and `request` name the
/// client's request so that the tail can acknowledge it and the head can
/// recognise a retry; requests of one client below `oldest_pending` have
/// been acknowledged to it and are forgotten.
struct chain_entry {
  chain_seq seq = 0;
  chain_client_id client = 0;
  uint64_t request = 0;
  uint64_t oldest_pending = 0;
  chain_write write;
};

/// What a shard remembers of one client to apply its retries once.
struct chain_client_record {
  uint64_t oldest_pending = 0;
  /// Request number -> sequence number of its write.
  std::map<uint64_t, chain_seq> applied;

  friend bool operator==(const chain_client_record& x,
                         const chain_client_record& y) {
    return x.oldest_pending == y.oldest_pending && x.applied == y.applied;
  }
};

/// The retry table: every client's record.
using chain_client_table = std::map<chain_client_id, chain_client_record>;

/// Records `entry` in `clients`, forgetting the requests of its client that
/// are below the entry's `oldest_pending`. Replicas and stores keep the same
/// table this way.
void remember_request(chain_client_table& clients, const chain_entry& entry);

/// One stored row.
struct chain_row {
  uint8_t table = 0;
  std::string key;
  std::string value;
};

/// A replica's whole state at sequence number `seq`, for a replacement.
struct chain_snapshot {
  chain_seq seq = 0;
  std::vector<chain_row> rows;
  chain_client_table clients;
};

/// What a replica needs besides its rows to resume after a restart: the
/// writes it applied that the chain may not have acknowledged (it resends
/// them to its successor) and the retry table.
struct chain_durable_state {
  /// Everything up to here was acknowledged and left the log.
  chain_seq trimmed = 0;
  /// Applied writes after `trimmed`, in sequence order.
  std::vector<chain_entry> log;
  chain_client_table clients;
};

// -- messages: client -> replica ----------------------------------------------

/// A client's write; goes to the head of the client's configuration.
struct chain_write_request {
  chain_epoch epoch = 0;
  uint64_t request = 0;
  uint64_t oldest_pending = 0;
  chain_write write;
};

/// A client's read; goes to the tail of the client's configuration.
struct chain_read_request {
  chain_epoch epoch = 0;
  uint64_t request = 0;
  uint8_t table = 0;
  std::string key;
};

// -- messages: replica -> client ----------------------------------------------

/// The tail applied the write: it survives any single failure.
struct chain_write_ack {
  uint64_t request = 0;
  chain_seq seq = 0;
};

/// A read served by the tail; `value` is empty for a missing key.
struct chain_read_reply {
  uint64_t request = 0;
  chain_seq seq = 0;
  std::optional<std::string> value;
};

/// Why a replica turned a client request away. The client retries, after
/// fetching the configuration for `stale_request`.
enum class chain_refusal {
  not_head,      // writes go to the head
  not_tail,      // reads go to the tail
  stale_request, // the client's configuration is older than the replica's
  stale_replica, // the replica has not installed the client's configuration
  not_ready,     // a new tail that has not caught up yet
  no_lease,      // the tail's lease ran out: it may have been replaced
  retired,       // no longer in the chain
  full,          // the head's store reached its maximum size: not retried
  invalid,       // the write does not fit the store (table or key size)
};

/// Refusal of request `request`; `epoch` is the replica's configuration.
struct chain_refused {
  uint64_t request = 0;
  chain_refusal reason = chain_refusal::retired;
  chain_epoch epoch = 0;
};

// -- messages: replica -> replica ---------------------------------------------

/// Writes in sequence order, from a replica to its successor.
struct chain_forward {
  chain_epoch epoch = 0;
  std::vector<chain_entry> entries;
};

/// Cumulative: the tail has applied every write up to `seq`. Travels up.
struct chain_ack {
  chain_epoch epoch = 0;
  chain_seq seq = 0;
};

/// Ends the writes a replica resends to a new successor: the successor holds
/// everything its predecessor held once it has applied up to `upto`.
struct chain_sync {
  chain_epoch epoch = 0;
  chain_seq upto = 0;
};

/// The tail's state for a replacement, answering `chain_snapshot_request`.
struct chain_snapshot_transfer {
  uint64_t attempt = 0;
  chain_snapshot snapshot;
};

// -- messages: replica <-> coordinator ----------------------------------------

/// A replica is alive; `number` identifies it for the lease that answers.
struct chain_heartbeat {
  replica_id replica = 0;
  chain_epoch epoch = 0;
  uint64_t number = 0;
};

/// A replacement installed the snapshot of join attempt `attempt`.
struct chain_joined {
  replica_id replica = 0;
  uint64_t attempt = 0;
  chain_seq seq = 0;
};

/// Replaces the replica's configuration with a newer one.
struct chain_install {
  chain_config config;
};

/// The coordinator will not remove the replica before `duration` has passed
/// since the replica sent heartbeat `number`.
struct chain_lease {
  uint64_t number = 0;
  chain_clock::duration duration{};
};

/// Asks the tail to send its state to `joiner`.
struct chain_snapshot_request {
  chain_epoch epoch = 0;
  uint64_t attempt = 0;
  replica_id joiner = 0;
};

/// The joiner of `attempt` is gone: the tail stops holding writes for it.
struct chain_cancel_join {
  uint64_t attempt = 0;
};

/// The replica is out of the chain for good.
struct chain_retire {};

using chain_payload
    = std::variant<chain_write_request, chain_read_request, chain_write_ack,
                   chain_read_reply, chain_refused, chain_forward, chain_ack,
                   chain_sync, chain_snapshot_transfer, chain_heartbeat,
                   chain_joined, chain_install, chain_lease,
                   chain_snapshot_request, chain_cancel_join, chain_retire>;

/// One end of a message.
struct chain_address {
  enum kind_type : uint8_t { replica, client, coordinator };

  kind_type kind = coordinator;
  uint64_t id = 0;

  static chain_address of_replica(replica_id id) noexcept {
    return {replica, id};
  }

  static chain_address of_client(chain_client_id id) noexcept {
    return {client, id};
  }

  static chain_address of_coordinator() noexcept {
    return {coordinator, 0};
  }

  friend bool operator==(chain_address x, chain_address y) noexcept {
    return x.kind == y.kind && x.id == y.id;
  }

  friend bool operator!=(chain_address x, chain_address y) noexcept {
    return !(x == y);
  }

  friend bool operator<(chain_address x, chain_address y) noexcept {
    return std::pair{x.kind, x.id} < std::pair{y.kind, y.id};
  }
};

/// A message the logic asks its caller to send.
struct chain_envelope {
  chain_address from;
  chain_address to;
  chain_payload payload;
};

using chain_outbox = std::vector<chain_envelope>;

/// Names a payload's type, for logs and test failures.
const char* payload_name(const chain_payload& payload) noexcept;

} // namespace cafray
