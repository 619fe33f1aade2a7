#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>

#include "object_store/local_objects.hpp"
#include "proto/gcs_router.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "worker/task_context.hpp"
#include "worker/task_queue.hpp"

namespace cafray {

/// A worker process's end of the task channel (proto/task_channel.hpp):
/// the socket that the driver holding a lease on this worker connects to.
/// Its executor accepts and serves the connection; the worker actor can end
/// the lease from its own thread.
class channel_port {
public:
  /// Listens on `host` (any port); nullptr and `why` if that fails.
  static std::shared_ptr<channel_port> open(const std::string& host,
                                            std::string& why);

  ~channel_port();

  /// "host:port", as the lease names it.
  const std::string& address() const noexcept {
    return address_;
  }

  int listener() const noexcept {
    return listener_;
  }

  /// The executor serves `fd` (or -1: nothing).
  void serving(int fd) noexcept;

  /// Ends the lease being served after its running task (the next read of
  /// the connection returns end of stream); a lease that starts later is
  /// not affected.
  void end() noexcept;

  /// Whether `end` was called for the lease being served.
  bool ending() const noexcept {
    return ending_.load(std::memory_order_acquire);
  }

private:
  channel_port() = default;

  int listener_ = -1;
  std::string address_;
  std::mutex mtx_;
  int serving_ = -1;
  std::atomic<bool> ending_{false};
};

struct worker_state {
  static inline const char* name = "cafray.worker";

  ~worker_state();

  std::shared_ptr<task_queue> queue;
  std::thread executor;
  uint32_t index = 0;
  raylet_actor raylet;
  gcs_router gcs;
  /// A worker process's task channel, for leases (else nullptr).
  std::shared_ptr<channel_port> channel;
  /// A worker thread of this process: a driver here leases it by queueing
  /// its tasks on `queue` itself.
  bool in_process = false;
  /// Processes owning results of tasks run here that this process
  /// connected to (or tried to), so that their results go there directly.
  std::set<caf::node_id> owners_linked;
  caf::node_id last_owner;
};

/// The key of the GCS kv row naming where the process with CAF node ID
/// `node` accepts connections ("host:port"): a driver writes it, and the
/// worker processes that run its tasks connect there, so that its results
/// do not travel through the head and the node on their way.
std::string owner_endpoint_key(const caf::node_id& node);

/// How a worker process hands a large result to its node without sending
/// its bytes: writes it into the node's shared-memory arena and seals it
/// there itself. Returns false when it did not (too small, no arena, no
/// room): the result then goes to the store as a message.
using result_placer = std::function<bool(const object_id&, const blob&)>;

/// Runs the tasks its raylet dispatches, one at a time in arrival order, on
/// an executor thread of its own. With an `arena` (the node's shared
/// objects), each result is sealed there the moment it exists, which wakes
/// its readers on the node; the store and the raylet hear of it after, in
/// batches.
worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, uint32_t index,
       raylet_actor raylet, object_store_actor store, gcs_router gcs,
       std::shared_ptr<local_objects> arena, result_placer place,
       node_id node);

/// Spawns a worker; `in_io_thread` (a worker process, with the middleman
/// loaded) runs it in the middleman's I/O thread as a broker, where the
/// tasks it is sent arrive.
/// A `channel` lets drivers lease it (a worker process).
worker_actor spawn_worker(caf::actor_system& sys, uint32_t index,
                          raylet_actor raylet, object_store_actor store,
                          gcs_router gcs,
                          std::shared_ptr<local_objects> arena = nullptr,
                          result_placer place = nullptr,
                          bool in_io_thread = false,
                          std::shared_ptr<channel_port> channel = nullptr,
                          node_id node = {});

/// Records a failed task in the GCS errors table (fire and forget).
// report_error: see proto/record_codec.hpp.

/// Spawns the typed behavior a spec (function = behavior name) names, with
/// its inline arguments.
caf::expected<caf::actor> spawn_registered_behavior(caf::actor_system& sys,
                                                    const task_spec& spec);

} // namespace cafray
