#pragma once

#include <deque>
#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>

#include "api/detail/submit_queue.hpp"
#include "api/detail/waiters.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray {

struct core_worker_state {
  static inline const char* name = "cafray.core_worker";

  /// Calls in flight to one hosted actor, oldest first (calls finish in
  /// order, so the front is always the next result).
  struct actor_calls {
    actor_id id;
    std::deque<object_id> pending;
    bool dead = false;
  };

  object_store_actor store;
  raylet_actor raylet;
  std::shared_ptr<detail::waiter_table> waiters;
  std::shared_ptr<detail::submit_queue> submissions;
  std::shared_ptr<detail::release_queue> releases;
  std::unordered_map<actor_id, actor_calls> calls;
  std::unordered_map<caf::actor_addr, actor_id> hosts;
  /// Threads blocked in a get of a single object, by object: an actor call's
  /// result passes through here, so they get it without waiting for the
  /// store's answer.
  std::unordered_map<object_id, std::vector<uint64_t>> single_gets;
};

/// The process's client actor (see core_worker_actor).
core_worker_actor::behavior_type
core_worker(core_worker_actor::stateful_pointer<core_worker_state> self,
            object_store_actor store, raylet_actor raylet,
            std::shared_ptr<detail::waiter_table> waiters,
            std::shared_ptr<detail::submit_queue> submissions,
            std::shared_ptr<detail::release_queue> releases);

} // namespace cafray

namespace cafray {

core_worker_actor
spawn_core_worker(caf::actor_system& sys, object_store_actor store,
                  raylet_actor raylet,
                  std::shared_ptr<detail::waiter_table> waiters,
                  std::shared_ptr<detail::submit_queue> submissions,
            std::shared_ptr<detail::release_queue> releases);

} // namespace cafray
