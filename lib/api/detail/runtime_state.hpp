#pragma once

// The running runtime's state, shared by the files of lib/api (runtime.cpp:
// the life cycle; client.cpp: what user calls do). Not installed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "api/core_worker.hpp"
#include "api/detail/arena_client.hpp"
#include "api/detail/direct_tasks.hpp"
#include "api/detail/local_leases.hpp"
#include "api/detail/actor_calls.hpp"
#include "api/detail/submit_queue.hpp"
#include "api/detail/waiters.hpp"
#include "common/runtime_config.hpp"
#include "gcs/gcs_client.hpp"
#include "object_store/local_objects.hpp"
#include "object_store/transfer.hpp"
#include "proto/cluster_actor.hpp"
#include "proto/node_agent_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "proto/scheduler_actor.hpp"
#include "worker/task_context.hpp"

namespace cafray::detail {

/// Everything one running runtime owns.
struct runtime {
  runtime_config cfg;
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  gcs_client gcs;
  scheduler_actor global;
  object_store_actor store;
  raylet_actor raylet;
  core_worker_actor core;
  std::shared_ptr<detail::waiter_table> waiters;
  std::shared_ptr<detail::submit_queue> submissions;
  std::shared_ptr<detail::release_queue> releases;
  std::shared_ptr<detail::actor_call_table> calls;
  std::shared_ptr<local_objects> objects;  // sealed objects of this node
  /// A worker process or driver: its map of the node's shared-memory arena
  /// (attached: large objects are read and written in place).
  std::shared_ptr<detail::arena_client> arena;
  cluster_actor directory;  // the head's (cluster mode)
  caf::actor published;     // what this process accepts connections for
  node_agent_actor agent;   // where this node's worker processes attach
  uint16_t agent_port = 0;
  worker_actor worker;      // a worker process's worker
  /// Head and node: serves this node's objects to other nodes' stores, and
  /// pulls theirs.
  std::shared_ptr<transfer_server> transfer;
  std::shared_ptr<transfer_client> puller;
  /// A driver of a cluster: the raylet and store are the head's, in
  /// another process; nothing seals task results in `objects`.
  bool remote_node = false;
  /// A driver of a cluster: its plain tasks go to leased workers directly.
  std::shared_ptr<direct_tasks> direct;
  /// Embedded: the driver's plain tasks go onto leased workers' queues.
  std::shared_ptr<local_leases> leases;
  /// A driver's holds on task arguments, by the task's result: dropped
  /// when the result is fetched.
  std::mutex remote_holds_mtx;
  std::unordered_map<object_id, std::vector<std::shared_ptr<void>>>
    remote_holds;
  node_id node;
  job_id job;
  task_id driver;
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> puts{0};
  uint64_t generation = 0;  // refs of older runtimes release nothing here
};

/// Counts runtimes started in this process.
extern std::atomic<uint64_t> generations;

/// The running runtime, or nullptr.
extern std::atomic<runtime*> current;

/// The running runtime; throws errc::not_initialized.
runtime& rt();

constexpr auto control_timeout = std::chrono::seconds{30};

/// Tells the raylet that the worker running this thread blocks (and lends
/// its CPU) for the lifetime of the guard.
class blocking_section {
public:
  blocking_section() {
    auto ctx = current_task_context();
    if (ctx && ctx->worker != task_context::no_worker && ctx->raylet) {
      ctx_ = ctx;
      if (ctx_->on_block)
        ctx_->on_block();
      caf::anon_send(caf::actor_cast<raylet_actor>(ctx_->raylet),
                     blocked_atom_v, ctx_->worker);
    }
  }
  ~blocking_section() {
    if (ctx_) {
      if (ctx_->on_unblock)
        ctx_->on_unblock();
      caf::anon_send(caf::actor_cast<raylet_actor>(ctx_->raylet),
                     unblocked_atom_v, ctx_->worker);
    }
  }

private:
  task_context* ctx_ = nullptr;
};

} // namespace cafray::detail
