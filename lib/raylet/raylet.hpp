#pragma once

#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include "object_store/local_objects.hpp"
#include "proto/record_codec.hpp"
#include "proto/gcs_router.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "proto/scheduler_actor.hpp"
#include "raylet/actor_slots.hpp"
#include "raylet/lineage_ledger.hpp"
#include "raylet/local_scheduler.hpp"

namespace cafray {

/// How a raylet starts the things that run user code. The node wires these
/// to the worker library (in-process actors) or to worker processes; the
/// raylet itself never includes worker code.
struct worker_factory {
  std::function<worker_actor(uint32_t index, raylet_actor raylet)> worker;
  std::function<caf::actor(const task_spec& creation)> actor_host;
  std::function<caf::expected<caf::actor>(const task_spec& spawn)> behavior;
  /// Worker processes: collects a dead one (no zombie).
  std::function<void(int32_t pid)> reap;
  /// Cluster mode with worker processes: starts the process that hosts the
  /// actor `creation` creates (and nothing else) and returns its pid, or a
  /// value <= 0 if it could not start. The process fetches the creation
  /// with (attach_atom, actor ID, pid) and reports the running actor with
  /// (register_atom, actor ID, handle, port). Unset: actors run inside the
  /// node's process (`actor_host`, `behavior`).
  std::function<int32_t(const task_spec& creation)> actor_process;
  /// Stops an actor's process (if it still runs) and collects it.
  std::function<void(int32_t pid)> stop_process;
};

struct raylet_config {
  node_id node;
  resource_map resources;        // total capacity, milli-units
  uint32_t num_workers = 1;      // started at once
  uint32_t max_workers = 64;
  uint32_t pipeline_depth = 256;  // tasks queued on one busy worker at most
  caf::timespan heartbeat = std::chrono::milliseconds{100};
  worker_factory factory;
  /// The node's object arena: the raylet watches it for the arguments
  /// tasks wait for (a seal wakes the task without a trip through the
  /// store). Without one, it subscribes at the store.
  std::shared_ptr<local_objects> arena;
  /// Which finished lineage the raylet drops from the GCS (none by default).
  lineage_limits lineage;
  /// Cluster mode: arguments held on other nodes are fetched through the
  /// store, and tasks beyond `spill_backlog` queued or running here go to
  /// the global scheduler while other nodes exist (0: never spill for load).
  bool cluster = false;
  uint32_t spill_backlog = 0;
  /// Where this node's process accepts connections ("host:port"), for the
  /// GCS nodes table; empty in embedded mode.
  std::string address;
  /// Workers are processes: `factory.worker` starts one and returns no
  /// handle; the process registers later (tasks for it wait in the raylet
  /// meanwhile). A worker process that dies is replaced, and its unfinished
  /// tasks are retried while `max_retries` allows, or fail with
  /// errc::worker_died.
  bool worker_processes = false;
};

struct raylet_state {
  static inline const char* name = "cafray.raylet";

  raylet_config cfg;
  std::unique_ptr<local_scheduler> sched;
  std::vector<worker_actor> workers;
  object_store_actor store;
  scheduler_actor global;
  gcs_router gcs;
  std::unordered_map<actor_id, caf::actor> actors;
  std::unordered_map<actor_id, actor_location> locations;
  /// Actors in worker processes of their own (cfg.factory.actor_process),
  /// and their creators waiting for them to run.
  actor_slots actor_procs;
  std::unordered_map<actor_id, caf::typed_response_promise<actor_location>>
    actor_waiters;
  std::unordered_map<caf::actor_addr, actor_id> actor_by_addr;
  std::unordered_map<actor_id, actor_record> actor_records;
  lineage_writer lineage;            // task records not yet in the GCS
  lineage_ledger ledger;             // which written lineage is finished
  std::shared_ptr<seal_watch> dep_watch;  // on the arena, for arguments
  uint32_t cluster_size = 1;              // live nodes, this one included
  /// The core workers that take the small results of tasks here straight
  /// from their workers, by task, until the task is done or leaves.
  std::unordered_map<task_id, caf::actor> owners;
  // Worker processes (cfg.worker_processes).
  struct process_slot {
    std::vector<task_assignment> unsent;  // dispatched before it registered
    uint32_t unsent_steal = 0;
    std::deque<task_spec> assigned;       // sent and not reported done
    int32_t pid = 0;
    uint64_t lease = 0;  // the token of the lease it serves, if leased
    bool revoked = false;  // asked to end that lease
  };
  std::vector<process_slot> processes;
  std::unordered_map<caf::actor_addr, uint32_t> worker_by_addr;
  bool stopping = false;
  /// The node leaves (drain_atom, raylet_drain.cpp): no new work is taken.
  struct drain_books {
    bool active = false;
    bool answered = false;
    drain_report report;
    caf::typed_response_promise<drain_report> promise;
  } drain;
};

/// A node's local scheduler (see local_scheduler for the policy). Tasks it
/// can never run go to the global scheduler.
raylet_actor::behavior_type
raylet(raylet_actor::stateful_pointer<raylet_state> self, raylet_config cfg,
       object_store_actor store, scheduler_actor global, gcs_router gcs);

raylet_actor spawn_raylet(caf::actor_system& sys, raylet_config cfg,
                          object_store_actor store, scheduler_actor global,
                          gcs_router gcs);

} // namespace cafray
