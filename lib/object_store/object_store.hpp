#pragma once

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "object_store/arena_pins.hpp"
#include "object_store/local_objects.hpp"
#include "object_store/object_table.hpp"
#include "object_store/shm_arena.hpp"
#include "object_store/transfer.hpp"
#include "proto/gcs_router.hpp"
#include "proto/object_store_actor.hpp"

namespace cafray {

struct object_store_state {
  static inline const char* name = "cafray.object_store";

  /// What to do when a request of the table completes.
  struct pending_request {
    enum kind_t : uint8_t { get, wait, subscribe, arena_get } kind = get;
    caf::typed_response_promise<std::vector<object_payload>> get_promise;
    caf::typed_response_promise<arena_objects> arena_promise;
    uint64_t client = 0;  // arena_get: whose pins
    caf::typed_response_promise<std::vector<uint8_t>> wait_promise;
    object_listener_actor listener;
  };

  object_table table;
  std::unordered_map<uint64_t, pending_request> pending;
  node_id node;
  gcs_router gcs;
  uint64_t inline_threshold = 0;
  std::vector<kv_entry> unreported;  // object table rows not yet in the GCS
  /// Embedded mode: watches the arena for objects open requests wait for.
  std::shared_ptr<seal_watch> request_watch;

  // -- cluster mode -----------------------------------------------------------

  /// Whether other nodes exist: every object's location then goes to the
  /// GCS, and objects missing here are pulled from the nodes holding them.
  bool cluster = false;
  /// The other nodes' stores, by node.
  std::unordered_map<node_id, store_peer> peers;
  /// Endpoints this process connected to (see directory's membership).
  std::unordered_set<std::string> connected;
  /// Objects being brought here: subscribed at the GCS or pulled.
  std::unordered_set<object_id> fetching;
  /// Objects with a pull request under way.
  std::unordered_set<object_id> pulling;
  /// Pulls objects of at least `transfer_min_bytes` over the transfer path
  /// (cluster mode); smaller ones, failures and peers without a transfer
  /// server use a pull request.
  std::shared_ptr<transfer_client> puller;
  /// Objects under way over the transfer path, with where they come from.
  std::unordered_map<object_id, object_record> transferring;
  /// Locations known for objects whose holder is not a known peer yet.
  std::unordered_map<object_id, object_record> unplaced;

  // -- the node's shared-memory arena (head and node) --------------------------

  /// Holds the node's large objects; processes on the node map it. Null in
  /// the embedded runtime.
  std::shared_ptr<shm_arena> arena;
  /// What the processes mapping the arena pin and reserve.
  arena_pins pins;
  /// Their client numbers, by the actor that stands for each process.
  std::unordered_map<caf::actor_addr, uint64_t> clients;
};

/// A node's object store. Objects above the inline threshold are recorded in
/// the GCS objects table (location and size); small ones live only here.
object_store_actor::behavior_type
object_store(object_store_actor::stateful_pointer<object_store_state> self,
             node_id node, gcs_router gcs, uint64_t inline_threshold,
             std::shared_ptr<local_objects> published, bool cluster,
             std::shared_ptr<transfer_client> puller,
             std::shared_ptr<shm_arena> arena);

/// `published`, if given, holds the sealed objects, readable by
/// same-process clients (see local_objects). With an `arena` (its owner),
/// the values above the inline threshold live in it: other processes on
/// the node map it, read objects in place and write their puts into it.
/// Without `cluster`, the node's producers publish objects up to the inline
/// threshold into `published` final, and the store never hears of them.
object_store_actor
spawn_object_store(caf::actor_system& sys, node_id node, gcs_router gcs,
                   uint64_t inline_threshold,
                   std::shared_ptr<local_objects> published = nullptr,
                   bool cluster = false,
                   std::shared_ptr<transfer_client> puller = nullptr,
                   std::shared_ptr<shm_arena> arena = nullptr);

/// A region of `arena` that is freed when the last copy of the result goes.
std::shared_ptr<const void> hold_region(std::shared_ptr<shm_arena> arena,
                                        uint64_t offset);

/// The default arena capacity: 30% of the machine's memory.
uint64_t default_arena_capacity();

/// Objects this large go over the transfer path between nodes.
constexpr uint64_t transfer_min_bytes = 256 * 1024;

} // namespace cafray
