#pragma once

#include <map>
#include <unordered_map>

#include <caf/actor_system.hpp>

#include "proto/gcs_router.hpp"
#include "proto/scheduler_actor.hpp"
#include "scheduler/placement.hpp"

namespace cafray {

struct global_scheduler_state {
  static inline const char* name = "cafray.global_scheduler";
  placement policy;
  std::map<node_id, raylet_actor> raylets;
  /// The core workers that take the results of tasks held or in passage
  /// here (see raylet_actor's submit with an owner).
  std::unordered_map<task_id, caf::actor> owners;
};

/// One global scheduler shard.
scheduler_actor::behavior_type global_scheduler(
  scheduler_actor::stateful_pointer<global_scheduler_state> self);

scheduler_actor spawn_global_scheduler(caf::actor_system& sys);

} // namespace cafray
