#pragma once

#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>

#include "api/detail/actor_calls.hpp"
#include "api/detail/submit_queue.hpp"
#include "api/detail/waiters.hpp"
#include "object_store/local_objects.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray::detail {

class arena_client;
class direct_tasks;

} // namespace cafray::detail

namespace cafray {

struct core_worker_state {
  static inline const char* name = "cafray.core_worker";

  object_store_actor store;
  raylet_actor raylet;
  std::shared_ptr<detail::waiter_table> waiters;
  std::shared_ptr<detail::submit_queue> submissions;
  std::shared_ptr<detail::release_queue> releases;
  std::shared_ptr<detail::actor_call_table> calls;
  /// This process's map of its node's arena, if any: gets then read large
  /// objects in place.
  std::shared_ptr<detail::arena_client> arena;
  /// The objects sealed on this node that this process reads in place;
  /// actor results published there final need no message to the store.
  std::shared_ptr<local_objects> objects;
  /// Threads blocked in a get of a single object, by object: an actor call's
  /// result passes through here, so they get it without waiting for the
  /// store's answer.
  std::unordered_map<object_id, std::vector<uint64_t>> single_gets;
  /// A process of a cluster (a driver or a worker process, whose store is
  /// elsewhere): its tasks' small results come straight from the workers
  /// that ran them, and its actor calls' results too; both go into
  /// `objects`, where its threads read them.
  bool direct_results = false;
  /// A driver of a cluster: it owns the results of its actor calls, as of
  /// its direct tasks; they reach the store only if they leave.
  std::shared_ptr<detail::direct_tasks> direct;
  /// Objects this process let go of lately: a direct result that arrives
  /// after its ref died is dropped, not kept forever.
  std::unordered_set<object_id> released;
  std::deque<object_id> released_order;

  /// Keeps a direct result for this process's readers.
  void keep(const object_id& id, object_payload payload);

  /// This process released `id`: its copy goes, now or on arrival.
  void forget_released(const object_id& id);
};

/// The process's client actor (see core_worker_actor).
core_worker_actor::behavior_type
core_worker(core_worker_actor::stateful_pointer<core_worker_state> self,
            object_store_actor store, raylet_actor raylet,
            std::shared_ptr<detail::waiter_table> waiters,
            std::shared_ptr<detail::submit_queue> submissions,
            std::shared_ptr<detail::release_queue> releases,
            std::shared_ptr<detail::actor_call_table> calls,
            std::shared_ptr<detail::arena_client> arena,
            std::shared_ptr<local_objects> objects, bool direct_results,
            std::shared_ptr<detail::direct_tasks> direct);

/// The error payload of a call to a dead actor.
object_payload actor_died_payload(const actor_id& actor, const object_id& id,
                                  const std::string& why);

} // namespace cafray

namespace cafray {

core_worker_actor
spawn_core_worker(caf::actor_system& sys, object_store_actor store,
                  raylet_actor raylet,
                  std::shared_ptr<detail::waiter_table> waiters,
                  std::shared_ptr<detail::submit_queue> submissions,
                  std::shared_ptr<detail::release_queue> releases,
                  std::shared_ptr<detail::actor_call_table> calls,
                  std::shared_ptr<detail::arena_client> arena = nullptr,
                  std::shared_ptr<local_objects> objects = nullptr,
                  bool direct_results = false,
                  std::shared_ptr<detail::direct_tasks> direct = nullptr);

} // namespace cafray
