#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "proto/messages.hpp"

namespace cafray {

/// The raylet's logic without actors: dependency waits, the ready queue,
/// resource accounting and the worker pool's states.
///
/// A task whose argument refs are not ready waits here without holding a
/// worker or resources. A worker blocked in `get` lends its resources back
/// until it resumes, so nested task graphs cannot starve the pool.
class local_scheduler {
public:
  /// The values of a queued task's argument refs, as they become ready.
  struct ref_args {
    std::vector<object_payload> resolved;  // aligned with spec.args
    std::vector<uint8_t> filled;
    size_t missing = 0;
  };

  /// A task in the queue. Only a task with argument refs carries `refs`:
  /// the element then stays within 256 bytes, two to a deque block, which
  /// is what a million queued tasks cost here.
  struct queued_task {
    task_spec spec;
    std::unique_ptr<ref_args> refs;

    size_t missing() const noexcept {
      return refs ? refs->missing : 0;
    }
  };

  struct assignment {
    uint32_t worker = 0;
    task_spec spec;
    std::vector<object_payload> resolved;
  };

  enum class worker_status : uint8_t { idle, busy, blocked, dead };

  /// `pipeline_depth` bounds how many tasks queue on one busy worker when
  /// no resources are free (1 disables pipelining).
  explicit local_scheduler(resource_map total, uint32_t max_workers = 64,
                           uint32_t pipeline_depth = 256);

  /// True if this node could ever run a task with this demand.
  bool feasible(const resource_map& demand) const;

  /// Queues a feasible task. Appends to `subscribe` the objects it waits for
  /// that nobody here waited for before.
  void submit(task_spec spec, std::vector<object_id>& subscribe);

  /// An awaited object exists now.
  void object_ready(const object_id& id, const object_payload& payload);

  /// Assigns ready tasks to idle workers while resources allow, then queues
  /// tasks behind busy workers holding the same demand (pipelining: a worker
  /// runs them one after another under the resources it holds). Sets
  /// `want_workers` to how many more workers could start work right now.
  std::vector<assignment> dispatch(uint32_t& want_workers);

  /// Takes `demand` from the free resources for something that holds it
  /// outside the task queue (an actor, for its whole life); false if it
  /// does not fit now.
  bool reserve(const resource_map& demand);

  /// Gives back what `reserve` took.
  void unreserve(const resource_map& demand);

  /// Leases an idle worker with `demand` to a driver that sends it tasks
  /// over a connection of its own (Ray's worker lease): the worker counts
  /// as busy with one task, holds the demand, and takes no pipelined work
  /// until `task_done` ends the lease. Returns the worker, or -1 if no
  /// worker is idle or the demand does not fit now.
  int lease(const resource_map& demand);

  /// Whether the worker is leased.
  /// Whether a ready task could run if the workers leased out came back
  /// (what is free now plus what the leases hold covers its demand): a task
  /// that waits for something else (a custom resource all in use, say)
  /// gains nothing from ending leases.
  bool leases_hold_back_ready() const;

  bool leased(uint32_t worker) const {
    return worker < workers_.size() && workers_[worker].leased;
  }

  /// A new worker joins the pool, idle. Returns its index.
  uint32_t add_worker();

  void task_done(uint32_t worker);
  void worker_blocked(uint32_t worker);

  /// A worker died: what it held is free again, its tasks are gone (the
  /// caller retries or fails them), and the slot is never used again.
  void worker_died(uint32_t worker);
  void worker_unblocked(uint32_t worker);

  /// A worker gave back `count` queued tasks it had not started; the caller
  /// submits them again. Answers a steal request to that worker, if any.
  void handed_back(uint32_t worker, size_t count);

  /// A request to a busy worker to give back queued tasks.
  struct steal_request {
    uint32_t victim;
    uint32_t count;
  };

  /// Work stealing for deep pipelines: while a worker sits idle with no
  /// ready task to run, a busy worker with tasks queued behind its running
  /// one gives back about half of them (at most one request in flight per
  /// worker). Without it, a long task would hold the tasks queued behind
  /// it while other CPUs idle.
  std::vector<steal_request> steals();

  /// Draining (the node leaves): takes out every task queued here that has
  /// not started, waiting for arguments or ready, oldest first, for the
  /// caller to hand to the global scheduler. What runs stays.
  std::vector<task_spec> take_queued();

  /// Draining: asks every worker with tasks assigned to give back all it
  /// has not started (answered by `handed_back`).
  std::vector<steal_request> drain_requests();

  /// Tasks assigned to a worker and not finished (running or queued on it).
  uint32_t in_flight(uint32_t worker) const {
    return workers_[worker].in_flight;
  }

  const resource_map& total() const {
    return total_;
  }
  const resource_map& available() const {
    return available_;
  }
  size_t waiting() const {
    return waiting_.size();
  }
  size_t ready() const {
    return ready_.size();
  }
  size_t running() const {
    return running_;
  }
  /// Live workers (dead slots are not counted).
  size_t workers() const {
    return workers_.size() - dead_;
  }
  worker_status status(uint32_t worker) const {
    return workers_[worker].status;
  }

private:
  struct worker_slot {
    worker_status status = worker_status::idle;
    resource_map held;
    uint32_t in_flight = 0;
    bool steal_pending = false;
    // A steal found nothing queued (its tasks finished, unreported): no
    // new request until the worker reports or gets work.
    bool steal_dry = false;
    // Leased to a driver: its tasks are not this scheduler's.
    bool leased = false;
  };

  /// The busy worker with the fewest queued tasks that holds `demand` and
  /// has room in its pipeline, or -1.
  int pipeline_target(const resource_map& demand) const;

  bool fits(const resource_map& demand) const;
  void acquire(const resource_map& demand);
  void give_back(const resource_map& demand);

  resource_map total_;
  resource_map available_;
  uint32_t max_workers_;
  size_t dead_ = 0;
  uint32_t pipeline_depth_;
  std::unordered_map<uint64_t, queued_task> waiting_;
  std::unordered_map<object_id, std::vector<uint64_t>> waiting_on_;
  uint64_t next_slot_ = 1;
  std::deque<queued_task> ready_;
  std::vector<worker_slot> workers_;
  std::vector<uint32_t> idle_;
  size_t running_ = 0;
};

} // namespace cafray
