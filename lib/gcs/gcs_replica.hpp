#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "gcs/chain_connect.hpp"
#include "gcs/chain_replica.hpp"
#include "gcs/chain_store.hpp"
#include "proto/gcs_chain_actor.hpp"
#include "storage/lmdb_kv_store.hpp"

namespace cafray {

/// How a replica actor runs.
struct gcs_replica_options {
  /// How often the replica sends a heartbeat; the coordinator answers with
  /// a lease, and removes a replica whose lease ran out.
  std::chrono::milliseconds heartbeat_interval{50};

  /// Most writes the replica applies in one transaction and forwards in
  /// one message when it flushes on its own: more wait for the next flush,
  /// so that a large batch moves down the chain in parts that the replicas
  /// work on at the same time.
  size_t max_batch_writes = 64;

  /// As the tail, acknowledges up the chain after this many more applied
  /// writes or with the next heartbeat (`chain_replica::set_ack_every`):
  /// at 100k writes/s an acknowledgement every ~2.5 ms instead of one per
  /// batch, and at most this many writes more for a predecessor to resend
  /// after a failure.
  chain_seq ack_every = 256;

  /// Bytes of rows per part of a snapshot sent to a replacement.
  size_t snapshot_chunk_bytes = size_t{1} << 20;

  /// Runs the replica on its own thread, so that a commit that waits for
  /// fsync never blocks a scheduler thread.
  bool detached = false;

  /// Runs the replica in the middleman's I/O thread (as a broker) unless
  /// `detached`: a message from another process reaches it, and its own
  /// messages leave, without waking a scheduler thread. For a process whose
  /// work is the replica (`cafray-gcs replica`); a commit then holds up the
  /// process's network I/O, which is why a commit that waits for fsync
  /// runs detached instead.
  bool in_io_thread = false;

  /// Where this replica's process accepts connections, announced to the
  /// coordinator and from there to clients and other replicas; port 0 when
  /// everything runs in one process.
  std::string host;
  uint16_t port = 0;
};

/// State of one replica actor: the chain logic, its store, and the handles
/// the logic's addresses stand for.
struct gcs_replica_state {
  static inline const char* name = "gcs_replica";

  /// Shared only so that the spawn arguments stay copyable: the replica is
  /// the store's one user, and closes it when it goes.
  std::shared_ptr<chain_store> store;

  std::unique_ptr<chain_replica> logic;

  gcs_coordinator_actor coordinator;

  gcs_replica_options options;

  /// Every replica this one may send to: the members of its configuration
  /// and a replacement it sends its state to.
  std::map<replica_id, gcs_replica_actor> replicas;

  /// Clients that sent requests here, or whose writes came with a handle.
  std::map<chain_client_id, gcs_chain_client_actor> clients;

  /// Clients whose handles went to the successor in this configuration.
  std::set<chain_client_id> introduced;

  /// Client writes that arrived since the last flush, in order; applied
  /// together (one transaction, one forward) when the replica's
  /// `flush_atom` comes, after the messages that were already waiting.
  chain_replica::client_writes queued_writes;

  /// Forwards from the predecessor since the last flush, merged: one
  /// epoch and sender, entries in arrival order.
  std::optional<chain_forward> queued_forward;
  replica_id queued_forward_from = 0;

  /// Whether a `flush_atom` is on its way to the replica itself.
  bool flushing = false;

  /// Endpoints of other replicas this process connected to.
  chain_endpoints connected;

  /// The replicas of the current configuration this one connects to (those
  /// with larger ids): a connection that failed is tried again with every
  /// tick, since until it exists their messages take a detour through the
  /// coordinator's process.
  std::vector<wire::chain_member> peers;

  /// Parts of a snapshot on their way, by sender and join attempt.
  std::map<std::pair<replica_id, uint64_t>,
           std::vector<wire::chain_snapshot_chunk>>
    snapshot_parts;
};

using gcs_replica_pointer
  = gcs_replica_actor::stateful_pointer<gcs_replica_state>;

/// The behavior of replica `id` over `store`: announces itself to
/// `coordinator`, which either installs it in the chain (a member at
/// startup) or lets it join as a replacement, then heartbeats.
gcs_replica_actor::behavior_type
gcs_replica(gcs_replica_pointer self, replica_id id,
            std::shared_ptr<chain_store> store,
            gcs_coordinator_actor coordinator, gcs_replica_options options);

/// Opens (or creates) the LMDB environment in `directory` and spawns
/// replica `id` over it.
caf::expected<gcs_replica_actor>
spawn_gcs_replica(caf::actor_system& sys, replica_id id,
                  const std::string& directory, lmdb_options storage,
                  gcs_coordinator_actor coordinator,
                  gcs_replica_options options = {});

} // namespace cafray
