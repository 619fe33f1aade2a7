#pragma once

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "proto/gcs_router.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "worker/task_context.hpp"

namespace cafray {

struct worker_state {
  static inline const char* name = "cafray.worker";
  uint32_t index = 0;
  raylet_actor raylet;
  object_store_actor store;
  gcs_router gcs;
  task_context ctx;
};

/// Executes the tasks its raylet dispatches, one at a time. Runs detached
/// (a thread of its own) because user code may block in `get`.
worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, uint32_t index,
       raylet_actor raylet, object_store_actor store, gcs_router gcs);

/// Spawns a worker on a thread of its own.
worker_actor spawn_worker(caf::actor_system& sys, uint32_t index,
                          raylet_actor raylet, object_store_actor store,
                          gcs_router gcs);

/// Records a failed task in the GCS errors table (fire and forget).
void report_error(const gcs_router& gcs, const error_record& err);

} // namespace cafray

namespace cafray {

/// Spawns the typed behavior a spec (kind normal, function = behavior name)
/// names, with its inline arguments.
caf::expected<caf::actor> spawn_registered_behavior(caf::actor_system& sys,
                                                    const task_spec& spec);

} // namespace cafray
