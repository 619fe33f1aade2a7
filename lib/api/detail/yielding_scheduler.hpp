#pragma once

#include <chrono>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace cafray::detail {

/// CAF's work stealing, idling differently. CAF's stock policy polls its
/// queue in a tight loop, then sleeps in fixed steps: a thread polling in
/// a tight loop keeps the core from a thread that shares it (an executor,
/// the driver) until the kernel's tick, and a sleeping one answers a
/// message only when its step ends. On a machine with few cores that is
/// most of the time a task spends between components.
///
/// This policy polls for a while yielding the core between polls, so a
/// thread on the same core with work to do runs at once, and then sleeps
/// on its condition variable, which an enqueue from outside wakes. New
/// work from outside the scheduler goes to an awake thread when there is
/// one, rather than round robin to one that must be woken first.
class yielding_stealing : public caf::policy::work_stealing {
public:
  /// How long an idle thread keeps polling before it sleeps.
  static constexpr std::chrono::microseconds poll_time{50};

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    auto n = self->num_workers();
    auto first = d(self).next_worker++ % n;
    for (size_t i = 0; i < n; ++i) {
      auto w = self->worker_by_id((first + i) % n);
      // A racy read: at worst the job goes to a thread that must be woken.
      if (!d(w).waitdata.sleeping) {
        w->external_enqueue(job);
        return;
      }
    }
    self->worker_by_id(first)->external_enqueue(job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    using clock = std::chrono::steady_clock;
    auto& data = d(self);
    auto until = clock::now() + poll_time;
    // Steals on every poll: on a loaded machine each yield may last tens
    // of microseconds, and a job sitting in the queue of a thread that is
    // runnable but not running (so never woken) waited for eight of them.
    for (;;) {
      if (auto job = data.queue.take_head())
        return job;
      if (auto job = try_steal(self))
        return job;
      if (clock::now() >= until)
        break;
      std::this_thread::yield();
    }
    // Asleep until an enqueue from outside wakes this thread; it still
    // looks for work to steal now and then.
    auto& wait = data.waitdata;
    auto relaxed = data.strategies[2].sleep_duration;
    // A lone thread has nobody to steal from: it sleeps until woken (a
    // worker process runs one, and a timed wake-up every 100 us in each of
    // a node's idle processes added up to half a core on two).
    auto alone = self->parent()->num_workers() == 1;
    for (;;) {
      bool woken = false;
      {
        std::unique_lock<std::mutex> guard{wait.lock};
        wait.sleeping = true;
        if (alone) {
          wait.cv.wait(guard, [&] { return !data.queue.empty(); });
          woken = true;
        } else {
          woken = wait.cv.wait_for(guard, relaxed,
                                   [&] { return !data.queue.empty(); });
        }
        wait.sleeping = false;
      }
      if (auto job = data.queue.take_head())
        return job;
      if (!woken)
        if (auto job = try_steal(self))
          return job;
    }
  }
};

/// Makes the actor system of `cfg` use yielding_stealing.
inline void use_yielding_scheduler(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new caf::scheduler::coordinator<yielding_stealing>(sys);
    });
}

} // namespace cafray::detail
