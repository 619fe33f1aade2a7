#pragma once

// The actors of a chain-replicated GCS shard: replicas, the coordinator
// that decides who is in the chain, and the client that writes and reads
// through it. The messages that carry actor handles are here, the others in
// gcs_chain_messages.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/gcs_chain_messages.hpp"
#include "proto/messages.hpp"

namespace cafray::wire {

struct chain_forward;
struct chain_configuration;
struct chain_snapshot_request;
struct chain_announce;

} // namespace cafray::wire

namespace cafray {

/// Writes and reads one shard through its chain, retrying across
/// reconfigurations; what raylets, drivers and workers talk to.
using gcs_chain_client_actor = caf::typed_actor<
  // Writes a row; answers the sequence number once the tail applied it.
  caf::replies_to<put_atom, uint8_t, std::string, std::string>::with<uint64_t>,
  // Writes rows (puts, or erases) in order, sent to the head together;
  // answers the sequence number of the last once the tail applied them all,
  // or the first failure.
  caf::replies_to<put_atom, std::vector<wire::chain_write>>::with<uint64_t>,
  // Erases a row; answers like a put.
  caf::replies_to<delete_atom, uint8_t, std::string>::with<uint64_t>,
  // Reads a row at the tail.
  caf::replies_to<get_atom, uint8_t, std::string>::with<wire::chain_read_result>,
  // Answers of the replicas.
  caf::reacts_to<wire::chain_answers>,
  // Answers for several clients at once; a replica sends them to a handle
  // that several clients' writes came from, i.e. a process's endpoint
  // (below), but a client takes them too.
  caf::reacts_to<wire::chain_answer_batches>,
  // The client's own retry timer.
  caf::reacts_to<tick_atom>,
  // The client's own signal to send what was submitted meanwhile, as one
  // message to the head.
  caf::reacts_to<flush_atom>>;

/// One replica of a shard's chain, owning its LMDB environment.
using gcs_replica_actor = caf::typed_actor<
  // Client -> head: writes, applied in one transaction.
  caf::reacts_to<wire::chain_write_batch>,
  // Endpoint -> head: the writes of several clients, as one message.
  caf::reacts_to<wire::chain_write_batches>,
  // Client -> tail: a read.
  caf::reacts_to<wire::chain_read_request>,
  // Predecessor -> replica: writes in sequence order.
  caf::reacts_to<wire::chain_forward>,
  // Successor -> replica: the tail applied everything up to a number.
  caf::reacts_to<wire::chain_ack>,
  // Predecessor -> replica: the end of a resend.
  caf::reacts_to<wire::chain_sync>,
  // Tail -> replacement: part of its state.
  caf::reacts_to<wire::chain_snapshot_chunk>,
  // Coordinator -> replica: a new configuration.
  caf::reacts_to<wire::chain_configuration>,
  // Coordinator -> replica: the answer to a heartbeat.
  caf::reacts_to<wire::chain_lease>,
  // Coordinator -> tail: send your state to a replacement.
  caf::reacts_to<wire::chain_snapshot_request>,
  // Coordinator -> tail: the replacement is gone.
  caf::reacts_to<wire::chain_cancel_join>,
  // Coordinator -> replica: out of the chain for good.
  caf::reacts_to<wire::chain_retire>,
  // The replica's own heartbeat timer.
  caf::reacts_to<tick_atom>,
  // The replica's own signal to apply the writes and forwards that arrived
  // meanwhile, in one transaction.
  caf::reacts_to<flush_atom>,
  // Where the replica stands, with a digest of its contents.
  caf::replies_to<stats_atom>::with<wire::chain_replica_status>,
  // Client -> tail: the rows of a table whose key starts with a prefix, as
  // applied here; fails unless this replica serves reads now (the tail,
  // caught up, holding a lease).
  caf::replies_to<scan_atom, uint8_t, std::string>::with<
    std::vector<kv_entry>>>;

/// The one connection of a process's chain clients to a shard's chain:
/// clients hand it their writes, which it sends to the head together with
/// those of the other clients, and the replicas answer the clients through
/// it (it stands in for the clients' handles, and so takes what a client
/// takes from a replica). Saves a message per client at each end.
using gcs_chain_endpoint_actor = caf::typed_actor<
  // Client -> endpoint: a client's writes, for the head `head`.
  caf::reacts_to<gcs_replica_actor, wire::chain_write_batch>,
  // Replica -> endpoint: answers for one client, or several.
  caf::reacts_to<wire::chain_answers>,
  caf::reacts_to<wire::chain_answer_batches>,
  // The endpoint's own signal to send what its clients handed it.
  caf::reacts_to<flush_atom>>;

/// Decides who is in a shard's chain: watches the replicas (monitors and
/// heartbeats), grants leases, reconfigures and lets replacements join.
using gcs_coordinator_actor = caf::typed_actor<
  // Replica -> coordinator: here I am (a member at startup, or a
  // replacement that wants to join).
  caf::reacts_to<wire::chain_announce>,
  // Replica -> coordinator: alive; answered with a lease.
  caf::reacts_to<wire::chain_heartbeat>,
  // Replacement -> coordinator: installed the snapshot.
  caf::reacts_to<wire::chain_joined>,
  // The current configuration with the members' handles, for clients.
  caf::replies_to<get_atom>::with<wire::chain_configuration>,
  // The coordinator's own failure-detector timer.
  caf::reacts_to<tick_atom>,
  // The coordinator's own retry of a removal that waited for a lease.
  caf::reacts_to<timeout_atom, uint64_t>>;

} // namespace cafray

namespace cafray::wire {

/// A replica and its handle.
struct chain_member {
  uint64_t replica = 0;
  gcs_replica_actor handle;
  /// Where the replica's process accepts connections; port 0 for a replica
  /// in the same process as everything that talks to it. Peers connect
  /// there themselves rather than rely on CAF's automatic connections,
  /// whose races in 0.17 can leave a process without a route to a replica
  /// while messages to it vanish.
  std::string host;
  uint16_t port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_member& x) {
  return f(caf::meta::type_name("chain_member"), x.replica, x.handle, x.host,
           x.port);
}

/// A shard's chain, head first; installed on replicas, handed to clients.
/// An empty `members` with epoch 0 means the shard has not started yet.
struct chain_configuration {
  uint32_t shard = 0;
  uint64_t epoch = 0;
  std::vector<chain_member> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_configuration& x) {
  return f(caf::meta::type_name("chain_configuration"), x.shard, x.epoch,
           x.members);
}

/// A client and its handle, so that the tail can answer the client's
/// writes, which the client sent to the head.
struct chain_client_handle {
  uint64_t client = 0;
  gcs_chain_client_actor handle;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_client_handle& x) {
  return f(caf::meta::type_name("chain_client_handle"), x.client, x.handle);
}

/// Replica -> successor: writes in sequence order, with the handles of
/// their clients the successor has not been told yet. The writes travel as
/// `block`, encoded by `gcs/chain_codec.hpp` (`append_entries`): CAF copies
/// a string in one piece, where it would visit every field of every entry.
struct chain_forward {
  uint64_t epoch = 0;
  uint64_t from = 0;
  std::vector<chain_client_handle> clients;
  std::string block;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_forward& x) {
  return f(caf::meta::type_name("chain_forward"), x.epoch, x.from, x.clients,
           x.block);
}

/// Coordinator -> tail: send your state to `joiner` for `attempt`.
struct chain_snapshot_request {
  uint64_t epoch = 0;
  uint64_t attempt = 0;
  chain_member joiner;
};

template <class Inspector>
typename Inspector::result_type
inspect(Inspector& f, chain_snapshot_request& x) {
  return f(caf::meta::type_name("chain_snapshot_request"), x.epoch, x.attempt,
           x.joiner);
}

/// Replica -> coordinator: a replica started; `last_applied` is what its
/// store holds.
struct chain_announce {
  chain_member self;
  uint64_t last_applied = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_announce& x) {
  return f(caf::meta::type_name("chain_announce"), x.self, x.last_applied);
}

} // namespace cafray::wire
