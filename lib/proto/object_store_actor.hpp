#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>

#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/messages.hpp"

namespace cafray {

/// Another node's object store, as the cluster directory announces it. The
/// handle is untyped: the store's own interface names this type.
struct store_peer {
  node_id id;
  std::string host;
  uint16_t port = 0;
  caf::actor store;
  uint16_t transfer_port = 0;  // its transfer server; 0: none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_peer& x) {
  return f(caf::meta::type_name("store_peer"), x.id, x.host, x.port, x.store,
           x.transfer_port);
}

/// Receives object-ready notifications.
using object_listener_actor = caf::typed_actor<
  caf::reacts_to<ready_atom, object_id, object_payload>>;

/// A node's object store: immutable objects by ID.
using object_store_actor = caf::typed_actor<
  // Seals an object (a second put of the same ID is ignored).
  caf::reacts_to<put_atom, object_id, object_payload>,
  // Seals several objects (ids and payloads aligned).
  caf::reacts_to<put_atom, std::vector<object_id>, std::vector<object_payload>>,
  // Answers with the payloads once all of them exist, in input order, or
  // with errc::timeout once the timeout passed (timespan::max(): never).
  caf::replies_to<get_atom, std::vector<object_id>, caf::timespan>::with<
    std::vector<object_payload>>,
  // Answers once `num_ready` of them exist or the timeout passed: one flag
  // per input (1 = ready), in input order.
  caf::replies_to<wait_atom, std::vector<object_id>, uint64_t,
                  caf::timespan>::with<std::vector<uint8_t>>,
  // Sends (ready_atom, id, payload) to the listener once the object exists.
  caf::reacts_to<subscribe_atom, object_id, object_listener_actor>,
  // The owner dropped its last reference to these objects.
  caf::reacts_to<release_atom, std::vector<object_id>>,
  // Internal: a wait ran out of time.
  caf::reacts_to<timeout_atom, uint64_t>,
  // Object count and bytes held.
  caf::replies_to<stats_atom>::with<store_stats>,
  // Cluster mode: the stores of every live node (this one included).
  caf::reacts_to<members_atom, std::vector<store_peer>>,
  // Cluster mode: brings these objects here from the nodes holding them
  // (the raylet asks for the arguments of its waiting tasks).
  caf::reacts_to<fetch_atom, std::vector<object_id>>,
  // Cluster mode: another node's store asks for an object held here;
  // fails with errc::object_lost if it is not.
  caf::replies_to<pull_atom, object_id>::with<object_payload>,
  // Internal: a pull over the transfer path ended (the bytes, or the
  // errc code of its failure).
  caf::reacts_to<pull_atom, object_id, blob, uint8_t>,
  // A GCS subscription fired (table, key, value).
  caf::reacts_to<notify_atom, uint8_t, std::string, std::string>,
  // A process on this node maps the node's shared-memory arena: its name
  // and the process's client number. The store watches `client` (an actor
  // living as long as the process's runtime) and drops the pins and
  // unsealed regions of the process when it goes. errc::not_found if this
  // store has no arena.
  caf::replies_to<attach_atom, caf::actor>::with<arena_info>,
  // Like get, for an attached client: objects in the arena come as their
  // place, each pinned once for the client until it unpins it.
  caf::replies_to<get_atom, uint64_t, std::vector<object_id>,
                  caf::timespan>::with<arena_objects>,
  // A client reserves a region of `size` bytes in the arena to write an
  // object into: its offset, or errc::object_too_large.
  caf::replies_to<allocate_atom, uint64_t, object_id, uint64_t>::with<
    uint64_t>,
  // A client wrote object `id` (`size` bytes) into the region at `offset`:
  // seals it; the client holds one pin on it (its own copy).
  caf::reacts_to<seal_atom, uint64_t, object_id, uint64_t, uint64_t>,
  // A client dropped one pin on each of these objects.
  caf::reacts_to<unpin_atom, uint64_t, std::vector<object_id>>>;

} // namespace cafray
