#pragma once

// The queue between a worker actor and the thread that runs its tasks, with
// the embedded leases a driver of this process serves itself through it
// (open_lease, push_leased, pop_leased), the lease groups whose executors
// take work from each other, and the registry by which a driver finds the
// queue of a worker in its own process.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "proto/messages.hpp"

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

/// Makes worker `index`'s queue findable by `local_task_queue` (a worker of
/// this process registers its queue when it starts).
void register_local_queue(const caf::actor_addr& raylet, uint32_t index,
                          const std::shared_ptr<task_queue>& q);

} // namespace cafray
