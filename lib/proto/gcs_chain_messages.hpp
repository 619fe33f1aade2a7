#pragma once

// The chain replication messages of a GCS shard that carry no actor handle
// (those are in gcs_chain_actor.hpp). They mirror the logic's vocabulary in
// gcs/chain.hpp in types CAF serializes: no std::optional (a flag instead),
// no floating point, durations in nanoseconds.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace cafray::wire {

/// One row written: a put, or an erase when `erase` is set.
struct chain_write {
  uint8_t table = 0;
  std::string key;
  bool erase = false;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_write& x) {
  return f(caf::meta::type_name("chain_write"), x.table, x.key, x.erase,
           x.value);
}

/// Client -> head: writes applied in one transaction, in order. The writes
/// travel as `block`, encoded by `gcs/chain_codec.hpp` (`request_block`):
/// per write its request number, the oldest request of the client still
/// unanswered (older ones have been acknowledged to it), table, key and
/// value or erase. CAF copies a string in one piece, where it would visit
/// every field of every write.
struct chain_write_batch {
  uint64_t epoch = 0;
  uint64_t client = 0;
  std::string block;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_write_batch& x) {
  return f(caf::meta::type_name("chain_write_batch"), x.epoch, x.client,
           x.block);
}

/// A process's chain endpoint -> head: the writes of several clients of
/// that process, gathered into one message (`gcs/gcs_chain_endpoint.hpp`);
/// the head handles each batch as if its client had sent it.
struct chain_write_batches {
  std::vector<chain_write_batch> batches;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_write_batches& x) {
  return f(caf::meta::type_name("chain_write_batches"), x.batches);
}

/// Client -> tail: a read of one row.
struct chain_read_request {
  uint64_t epoch = 0;
  uint64_t client = 0;
  uint64_t request = 0;
  uint8_t table = 0;
  std::string key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_read_request& x) {
  return f(caf::meta::type_name("chain_read_request"), x.epoch, x.client,
           x.request, x.table, x.key);
}

/// The tail applied request `request` as sequence number `seq`.
struct chain_write_ack {
  uint64_t request = 0;
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_write_ack& x) {
  return f(caf::meta::type_name("chain_write_ack"), x.request, x.seq);
}

/// A read served by the tail at sequence number `seq`.
struct chain_read_reply {
  uint64_t request = 0;
  uint64_t seq = 0;
  bool found = false;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_read_reply& x) {
  return f(caf::meta::type_name("chain_read_reply"), x.request, x.seq,
           x.found, x.value);
}

/// A request turned away; `reason` is a `chain_refusal`, `epoch` the
/// replica's configuration.
struct chain_refused {
  uint64_t request = 0;
  uint8_t reason = 0;
  uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_refused& x) {
  return f(caf::meta::type_name("chain_refused"), x.request, x.reason,
           x.epoch);
}

/// Replica -> client: every answer one replica had for client `client`
/// after handling one message, in one message.
struct chain_answers {
  uint64_t replica = 0;
  uint64_t client = 0;
  std::vector<chain_write_ack> acks;
  std::vector<chain_read_reply> reads;
  std::vector<chain_refused> refusals;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_answers& x) {
  return f(caf::meta::type_name("chain_answers"), x.replica, x.client, x.acks,
           x.reads, x.refusals);
}

/// Replica -> a process's chain endpoint: the answers for several clients
/// whose writes came through that endpoint, in one message.
struct chain_answer_batches {
  std::vector<chain_answers> answers;
};

template <class Inspector>
typename Inspector::result_type
inspect(Inspector& f, chain_answer_batches& x) {
  return f(caf::meta::type_name("chain_answer_batches"), x.answers);
}

/// Replica -> predecessor: the tail applied everything up to `seq`.
struct chain_ack {
  uint64_t epoch = 0;
  uint64_t from = 0;
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_ack& x) {
  return f(caf::meta::type_name("chain_ack"), x.epoch, x.from, x.seq);
}

/// Replica -> successor: ends a resend; see `cafray::chain_sync`.
struct chain_sync {
  uint64_t epoch = 0;
  uint64_t from = 0;
  uint64_t upto = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_sync& x) {
  return f(caf::meta::type_name("chain_sync"), x.epoch, x.from, x.upto);
}

/// One row of a snapshot.
struct chain_row {
  uint8_t table = 0;
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_row& x) {
  return f(caf::meta::type_name("chain_row"), x.table, x.key, x.value);
}

/// One client's part of the retry table: `requests[i]` was applied as
/// `seqs[i]`.
struct chain_client_record {
  uint64_t client = 0;
  uint64_t oldest_pending = 0;
  std::vector<uint64_t> requests;
  std::vector<uint64_t> seqs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_client_record& x) {
  return f(caf::meta::type_name("chain_client_record"), x.client,
           x.oldest_pending, x.requests, x.seqs);
}

/// Tail -> replacement: part `index` of the state at `seq` for join attempt
/// `attempt`; the replacement installs it once the `last` part arrived.
/// Large states travel in several parts, since CAF messages should stay
/// small (CAF-NOTES.md).
struct chain_snapshot_chunk {
  uint64_t from = 0;
  uint64_t attempt = 0;
  uint64_t seq = 0;
  uint32_t index = 0;
  bool last = false;
  std::vector<chain_row> rows;
  std::vector<chain_client_record> clients;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_snapshot_chunk& x) {
  return f(caf::meta::type_name("chain_snapshot_chunk"), x.from, x.attempt,
           x.seq, x.index, x.last, x.rows, x.clients);
}

/// Coordinator -> replica: the lease granted for heartbeat `number`.
struct chain_lease {
  uint64_t number = 0;
  int64_t duration_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_lease& x) {
  return f(caf::meta::type_name("chain_lease"), x.number, x.duration_ns);
}

/// Coordinator -> tail: the replacement of `attempt` is gone.
struct chain_cancel_join {
  uint64_t attempt = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_cancel_join& x) {
  return f(caf::meta::type_name("chain_cancel_join"), x.attempt);
}

/// Coordinator -> replica: out of the chain for good.
struct chain_retire {
  uint64_t replica = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_retire& x) {
  return f(caf::meta::type_name("chain_retire"), x.replica);
}

/// Replica -> coordinator: alive, at `epoch`.
struct chain_heartbeat {
  uint64_t replica = 0;
  uint64_t epoch = 0;
  uint64_t number = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_heartbeat& x) {
  return f(caf::meta::type_name("chain_heartbeat"), x.replica, x.epoch,
           x.number);
}

/// Replacement -> coordinator: installed the snapshot of `attempt`.
struct chain_joined {
  uint64_t replica = 0;
  uint64_t attempt = 0;
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_joined& x) {
  return f(caf::meta::type_name("chain_joined"), x.replica, x.attempt, x.seq);
}

/// What a replica reports about itself, for tests and tools.
struct chain_replica_status {
  uint64_t replica = 0;
  uint64_t epoch = 0;
  uint64_t last_applied = 0;
  uint64_t digest = 0;
  bool member = false;
  bool retired = false;
  bool tail = false;
  bool serving_reads = false;
  std::vector<uint64_t> chain;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_replica_status& x) {
  return f(caf::meta::type_name("chain_replica_status"), x.replica, x.epoch,
           x.last_applied, x.digest, x.member, x.retired, x.tail,
           x.serving_reads, x.chain);
}

/// What a chain client's read found.
struct chain_read_result {
  bool found = false;
  std::string value;
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_read_result& x) {
  return f(caf::meta::type_name("chain_read_result"), x.found, x.value, x.seq);
}

} // namespace cafray::wire
