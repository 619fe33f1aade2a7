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

namespace cafray {

class lease_group;

/// The queue between a worker actor and the thread that runs its user code.
/// User code gets a thread of its own because it may block in `get`; the
/// actor stays responsive and, while the code blocks, turns new tasks away.
class task_queue {
public:
  struct item {
    task_spec spec;
    std::vector<object_payload> resolved;
    caf::actor owner;  // takes the small result straight from here
    /// Not a task: serve the lease with this token on the task channel
    /// (the executor runs what the lease's driver sends until it ends).
    uint64_t lease = 0;
    /// Queued by the driver holding the lease (not by the raylet).
    bool leased = false;
  };

  /// Queues a task (moving it out of `x`) unless the running one is
  /// blocked; returns false then and leaves `x` alone.
  bool push(item& x);

  /// Queues a batch of tasks under one lock; returns those refused because
  /// the running task is blocked.
  std::vector<task_spec> push_all(std::vector<task_assignment>& batch);

  /// The next task if one is queued (and not stopped), without waiting.
  bool try_pop(item& x);

  /// The same; `last` tells whether the queue is empty after it.
  bool try_pop(item& x, bool& last);

  /// Waits for the next task; returns false once stopped. Spins briefly
  /// before sleeping: the next task of a busy worker arrives within µs.
  bool pop(item& x);

  // -- a lease held by a driver in this process (embedded mode) --------------
  // The driver queues its tasks here itself, behind the lease item that
  // sets the executor serving them; the raylet hears of none of them.

  /// Opens lease `token`: pushes its lease item and takes the driver's
  /// tasks from now on. False if stopped, blocked or leased already.
  bool open_lease(uint64_t token);

  /// Queues a task of the driver holding lease `token`; false, leaving `x`
  /// alone, once the lease ended (or the running task blocks). `depth` is
  /// what the queue then holds.
  bool push_leased(uint64_t token, item& x, size_t& depth);

  /// Ends the lease: the driver's tasks queued already still run, new
  /// ones are refused.
  void end_lease();

  /// How a wait of the serving executor ended.
  enum class lease_wait { task, idle, ended, stopped };

  /// The serving executor's next task of lease `token`: waits up to
  /// `timeout` (spinning briefly first). `ended` once the lease ended and
  /// its tasks ran; `idle` after `timeout` without a task. With `close`,
  /// an idle wait ends the lease (the driver leases anew when it has work).
  lease_wait pop_leased(item& x, std::chrono::microseconds timeout,
                        bool close);

  /// Takes out up to `n` queued tasks of a lease, the newest ones, in
  /// queue order (an idle executor serving the same driver runs them).
  std::vector<item> steal_items(size_t n);

  /// Queued tasks.
  size_t size();

  /// The driver's lease group for lease `token` (ignored once it ended).
  void set_group(uint64_t token, std::shared_ptr<lease_group> group);

  /// The group of the open lease, if any.
  std::shared_ptr<lease_group> group();

  /// Marks the running task blocked and takes the queued tasks out.
  std::vector<task_spec> block();

  /// Takes out up to `n` queued tasks, the newest ones, in queue order.
  std::vector<task_spec> steal(size_t n);

  void unblock();

  bool empty();

  void stop();

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<item> items_;
  bool blocked_ = false;
  bool stopped_ = false;
  uint64_t lease_ = 0;  // the open lease's token, if any
  std::shared_ptr<lease_group> group_;
};

/// The queues of the workers one driver of this process leases (embedded
/// mode): an executor serving one of them that runs dry takes queued
/// tasks from the fullest of the others, so no task of the driver waits
/// behind a long one while a leased worker idles (the raylet steals for
/// the workers it feeds the same way).
class lease_group {
public:
  void add(const std::shared_ptr<task_queue>& q);

  void remove(const task_queue* q);

  /// Up to half the queued tasks of the fullest queue but `idle`.
  std::vector<task_queue::item> steal_for(const task_queue* idle);

private:
  std::mutex mtx_;
  std::vector<std::weak_ptr<task_queue>> queues_;
};

/// The task queue of worker `index` of the raylet at `raylet`, if that
/// worker runs in this process, and the group of leases it serves in.
std::shared_ptr<task_queue> local_task_queue(const caf::actor_addr& raylet,
                                             uint32_t index);

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
