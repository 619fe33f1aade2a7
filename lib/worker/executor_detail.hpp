#pragma once

// What the executor thread of a worker shares between the raylet's tasks
// (worker.cpp) and a lease's tasks (lease_server.cpp). Internal to
// lib/worker (not installed).

#include <memory>
#include <vector>

#include "proto/task_channel.hpp"
#include "worker/worker.hpp"

namespace cafray::detail {

/// What the executor thread runs tasks with.
struct executor_env {
  std::shared_ptr<task_queue> queue;
  uint32_t index = 0;
  raylet_actor raylet;
  object_store_actor store;
  gcs_router gcs;
  std::shared_ptr<local_objects> arena;
  result_placer place;
  std::shared_ptr<channel_port> channel;
  node_id node;  // for the lineage of leased tasks
};

/// A task run, its result not yet sealed or reported.
struct finished_task {
  object_id id;
  object_payload result;
  bool placed = false;  // sealed in the node's arena by this process
  bool final = false;   // to publish final in the arena (embedded mode)
  object_payload copy;  // for the arena, unless placed or final
};

/// Runs one task; its result is not yet sealed or reported.
finished_task run_one(const executor_env& env, task_context& ctx,
                      task_spec& spec, std::vector<object_payload>& resolved);

/// Seals what `run_one` left for the arena.
void seal(const executor_env& env, finished_task& f);

/// Serves a lease with this token on the worker's task channel: runs the
/// tasks its driver sends, in order, and answers them, until the driver
/// closes the connection (or never comes) or the raylet ends the lease;
/// then tells the raylet the worker is free.
void serve_lease(const executor_env& env, task_context& ctx, uint64_t token);

} // namespace cafray::detail
