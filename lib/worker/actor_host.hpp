#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>

#include "object_store/local_objects.hpp"
#include "proto/gcs_router.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "worker/registry.hpp"
#include "worker/task_context.hpp"

namespace cafray {

/// A constructor or method call waiting for its turn and its arguments.
struct hosted_call {
  task_spec spec;
  caf::actor reply_to;  // the caller's core worker; none for the constructor
  std::vector<object_payload> resolved;
  std::vector<uint8_t> filled;  // 1 once resolved[i] holds its value
  size_t missing = 0;
};

/// Results of calls not yet sent to their caller: a batch of calls is
/// answered with one message per caller.
struct host_replies {
  caf::actor to;
  actor_id actor;
  std::vector<object_id> ids;
  std::vector<object_payload> payloads;
};

struct actor_host_state {
  static inline const char* name = "cafray.actor_host";
  const actor_class_entry* cls = nullptr;
  std::shared_ptr<void> instance;
  bool constructed = false;
  object_payload failure;  // set when the constructor failed
  std::deque<hosted_call> queue;
  std::vector<host_replies> replies;  // while a batch of calls runs
  bool batching = false;
  /// Per method (by function name): whether its last call ran longer than
  /// a batch's patience. Before a call of a method that did, or that never
  /// ran here, the batch sends what it gathered, so a long call holds back
  /// no earlier result.
  std::unordered_map<std::string, bool> ran_long;
  /// The element of `ran_long` the last call found (or null).
  std::pair<const std::string, bool>* last_method = nullptr;
  object_store_actor store;
  gcs_router gcs;
  std::shared_ptr<local_objects> arena;  // may be null
  task_context ctx;
};

/// Hosts one instance of a registered class. The creation spec (kind
/// actor_create) names the class and carries the constructor's arguments;
/// calls queue behind it and run one at a time in mailbox order. A call
/// whose arguments are not ready yet holds back the calls after it, so the
/// order of calls is the order of arrival.
actor_host_actor::behavior_type
actor_host(actor_host_actor::stateful_pointer<actor_host_state> self,
           task_spec creation, object_store_actor store, gcs_router gcs,
           std::shared_ptr<local_objects> arena);

/// Spawns a host on a thread of its own (methods may block in `get`). With
/// an `arena`, each call's result is sealed there before the caller hears
/// of it (see `worker`).
actor_host_actor spawn_actor_host(caf::actor_system& sys, task_spec creation,
                                  object_store_actor store, gcs_router gcs,
                                  std::shared_ptr<local_objects> arena
                                  = nullptr);

} // namespace cafray
