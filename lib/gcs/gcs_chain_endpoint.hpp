#pragma once

#include <map>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "gcs/chain.hpp"
#include "proto/gcs_chain_actor.hpp"

namespace cafray {

/// State of a process's chain endpoint.
struct gcs_chain_endpoint_state {
  static inline const char* name = "gcs_chain_endpoint";

  /// The clients whose writes came through here, by id: the replicas'
  /// answers for them come here. Weak: clients hold the endpoint, and a
  /// cycle of handles would keep both alive (CAF-NOTES pitfall 7).
  std::map<chain_client_id, caf::actor_addr> clients;

  /// Writes handed over since the last flush, per head in order of arrival.
  std::vector<std::pair<gcs_replica_actor, wire::chain_write_batches>> queued;

  /// Whether a `flush_atom` is on its way to the endpoint itself.
  bool flushing = false;
};

using gcs_chain_endpoint_pointer
  = gcs_chain_endpoint_actor::stateful_pointer<gcs_chain_endpoint_state>;

/// The shared connection of the chain clients of one process (see
/// `gcs_chain_endpoint_actor`): whatever clients hand it until its next
/// flush, which follows the messages already in its mailbox, goes to each
/// head as one `wire::chain_write_batches`; answers go on to their client.
/// An answer arriving flushes first: the writes that one group of answers
/// set off leave as a group of their own instead of waiting for the next
/// group's, so that several groups travel the chain apart.
/// It keeps no request of its own: a write lost here is one a client
/// retries, as one lost on the network. Clients use it when their options
/// name it (`gcs_chain_client_options::endpoint`); it lives as long as
/// anyone holds its handle.
gcs_chain_endpoint_actor::behavior_type
gcs_chain_endpoint(gcs_chain_endpoint_pointer self);

} // namespace cafray
