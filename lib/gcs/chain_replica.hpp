#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "gcs/chain.hpp"
#include "gcs/chain_store.hpp"

namespace cafray {

/// One replica of a shard's chain as a state machine: every input is a call,
/// every output a returned envelope; time comes from the injected clock.
///
/// Rules, in the order a message meets them:
/// - Epochs. A message from another replica or the coordinator that carries
///   an older epoch than the replica's configuration is dropped; one that
///   carries a newer epoch is kept aside, neither applied nor acknowledged,
///   and handled once a configuration at least that new is installed. A
///   client request with another epoch than the replica's is refused.
/// - Order. The head numbers writes. A replica applies sequence number
///   `last + 1` only: smaller numbers are duplicates and are ignored, larger
///   ones are held back until the gap fills (the links are FIFO, so a gap
///   only comes from a reordering network; held writes are dropped with
///   their epoch, since the new predecessor resends).
/// - Acknowledgement. Only the tail acknowledges to clients, and only while
///   it holds a lease from the coordinator, which waits for the lease to run
///   out before it replaces a tail. A paused tail therefore acknowledges
///   nothing and serves no read once it resumes. Acknowledgements travel up
///   the chain as one cumulative sequence number; every replica keeps the
///   writes it forwarded until they come back acknowledged (`unacked`).
/// - Repairs follow from the configuration. On every new configuration a
///   replica resends everything unacknowledged to its successor, then a
///   `chain_sync`: a new successor may lack it, and an old one drops what is
///   still on its way under the old epoch. The successor answers the sync
///   with its acknowledgement. A replica that becomes tail acknowledges
///   everything it holds; a replacement serves reads only after the sync
///   from its predecessor.
/// - Joining. The tail answers a snapshot request with its state and keeps
///   acknowledging clients, but acknowledges upwards only up to the
///   snapshot, so that its predecessor still holds every later write should
///   the tail die before the replacement caught up. A replacement that has
///   not caught up yet answers a snapshot request only once it has.
/// - A head whose store is full refuses the write (`chain_refusal::full`)
///   and carries on; any other store failure stops the replica.
/// - A replica that is removed, told to retire, or whose store fails stops
///   for good; it comes back only as a new replica with a fresh snapshot.
class chain_replica {
public:
  using clock_function = std::function<chain_time()>;

  /// Starts from whatever `store` holds, including the log of writes the
  /// chain may not have acknowledged and the retry table. The replica is
  /// not part of any chain until the coordinator installs a configuration
  /// or, for a replacement, sends a snapshot first.
  chain_replica(replica_id self, chain_store& store, clock_function clock);

  /// Handles one message addressed to this replica; a forward's entries are
  /// moved into the log rather than copied.
  chain_outbox receive(const chain_address& from, chain_payload msg);

  /// Handles writes of one client at once: the new ones are applied in one
  /// store transaction (and forwarded as one batch), in order. Each write
  /// is refused, answered or applied as `receive` would one at a time.
  chain_outbox receive_writes(const chain_address& from,
                              const std::vector<chain_write_request>& msgs);

  /// Writes of several clients, in the order they arrived.
  using client_writes
    = std::vector<std::pair<chain_address, std::vector<chain_write_request>>>;

  /// Handles the writes of several clients as `receive_writes` handles one
  /// client's, in one store transaction and one forward: a head under load
  /// pays one commit and one message per batch instead of per client. The
  /// writes move into the log.
  chain_outbox receive_writes(client_writes batches);

  /// Writes the rows the store left for later (`chain_store::pending`); a
  /// store that cannot stops the replica, as a failed apply does.
  void write_rows();

  /// A heartbeat for the coordinator, which answers with a lease; at the
  /// tail, also the acknowledgement held back by `set_ack_every`.
  chain_outbox heartbeat();

  /// The tail acknowledges up the chain once at least `n` more writes are
  /// applied (and with every heartbeat), rather than after every batch: an
  /// acknowledgement only lets the predecessors trim their logs, so sending
  /// fewer saves two messages per batch and replica for a longer log. The
  /// default 1 acknowledges every batch.
  void set_ack_every(chain_seq n) noexcept {
    ack_every_ = n < 1 ? 1 : n;
  }

  replica_id id() const noexcept {
    return self_;
  }

  const chain_config& config() const noexcept {
    return config_;
  }

  chain_epoch epoch() const noexcept {
    return config_.epoch;
  }

  bool member() const noexcept {
    return member_;
  }

  bool retired() const noexcept {
    return retired_;
  }

  bool is_head() const noexcept;

  bool is_tail() const noexcept;

  /// False for a replacement from its snapshot until its predecessor's sync:
  /// it may lack writes the old tail acknowledged.
  bool caught_up() const noexcept {
    return caught_up_;
  }

  /// Whether a read arriving now would be served.
  bool serving_reads() const;

  bool lease_valid() const;

  chain_seq last_applied() const noexcept {
    return last_;
  }

  /// Everything up to here is known to be applied by the tail.
  chain_seq acked() const noexcept {
    return acked_;
  }

  /// Writes forwarded but not yet acknowledged by the tail.
  std::vector<chain_seq> unacked() const;

  /// Writes waiting for a gap to fill.
  size_t held_back() const noexcept {
    return held_.size();
  }

  /// Messages waiting for a newer configuration.
  size_t deferred() const noexcept {
    return deferred_.size();
  }

private:
  struct pending_join {
    replica_id joiner = 0;
    uint64_t attempt = 0;
    chain_seq floor = 0;
  };

  /// Routes a message that carries `msg_epoch`: true if it is for now, false
  /// if it was dropped or kept aside.
  bool admit(chain_epoch msg_epoch, const chain_address& from,
             const chain_payload& msg);

  std::optional<chain_refusal> refuse_client(chain_epoch msg_epoch) const;

  /// A client request the head ordered, to refuse it should the store be
  /// full.
  using ordered_request = std::pair<chain_address, uint64_t>;

  /// Refuses, answers or numbers the writes of one client; the new ones
  /// move to `entries`, numbered after them.
  void order_writes(const chain_address& from, chain_write_request* msgs,
                    size_t count,
                    std::vector<chain_entry>& entries,
                    std::vector<ordered_request>& ordered, chain_outbox& out);

  /// Applies writes ordered by `order_writes`, or refuses them all if the
  /// store is full.
  void apply_ordered(std::vector<chain_entry> entries,
                     const std::vector<ordered_request>& ordered,
                     chain_outbox& out);

  void on_writes(const chain_address& from, chain_write_request* msgs,
                 size_t count, chain_outbox& out);

  void on_read(const chain_address& from, const chain_read_request& msg,
               chain_outbox& out);

  void on_forward(chain_forward& msg, chain_outbox& out);

  void on_ack(const chain_ack& msg, chain_outbox& out);

  void on_sync(const chain_sync& msg, chain_outbox& out);

  /// Serves reads from now on, and answers a waiting snapshot request.
  void catch_up(chain_outbox& out);

  void on_snapshot_request(const chain_snapshot_request& msg,
                           chain_outbox& out);

  void on_snapshot(const chain_snapshot_transfer& msg, chain_outbox& out);

  void on_install(const chain_config& next, chain_outbox& out);

  void on_lease(const chain_lease& msg, chain_outbox& out);

  enum class accept_result { applied, full, failed };

  /// Applies what is next in sequence among `entries` and the held-back
  /// writes, then forwards it or, at the tail, acknowledges it.
  accept_result accept(std::vector<chain_entry> entries, chain_outbox& out);

  /// At the tail: acknowledges applied writes to their clients and up.
  void settle(chain_outbox& out);

  /// Drops the log up to what is acknowledged both up and to clients.
  void trim_log();

  /// Sends `acked_` to the predecessor if `now` and it is news to it.
  void ack_up(bool now, chain_outbox& out);

  void send(replica_id to, chain_payload msg, chain_outbox& out) const;

  /// The first entry of the log after `seq`.
  std::deque<chain_entry>::const_iterator log_after(chain_seq seq) const;

  /// Appends `entry` to the log, which holds consecutive sequence numbers
  /// only: an entry that does not follow the last one starts it anew.
  void append_to_log(chain_entry&& entry);

  void reply(const chain_address& to, chain_payload msg,
             chain_outbox& out) const;

  replica_id self_;
  chain_store& store_;
  clock_function clock_;
  chain_config config_;
  bool member_ = false;
  bool retired_ = false;
  bool caught_up_ = true;
  std::optional<chain_seq> ready_at_;
  std::optional<chain_snapshot_request> waiting_snapshot_;
  chain_seq last_ = 0;
  chain_seq acked_ = 0;
  /// The last acknowledgement sent up.
  chain_seq acked_up_ = 0;
  chain_seq ack_every_ = 1;
  chain_seq client_acked_ = 0;
  /// Applied writes not yet known to be acknowledged, by consecutive
  /// sequence numbers: a deque rather than a map, since entries come in
  /// order at the back and leave in order at the front.
  std::deque<chain_entry> log_;
  std::map<chain_seq, chain_entry> held_;
  std::vector<std::pair<chain_address, chain_payload>> deferred_;
  std::optional<pending_join> join_;
  uint64_t snapshot_attempt_ = 0;
  std::optional<chain_time> lease_until_;
  std::map<uint64_t, chain_time> heartbeats_;
  uint64_t next_heartbeat_ = 0;
};

} // namespace cafray
