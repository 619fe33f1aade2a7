#pragma once

#include <cstdint>
#include <functional>
#include <limits>

#include <caf/actor.hpp>

#include "common/ids.hpp"

namespace cafray {

/// What the code running on this thread is part of. Workers and actor hosts
/// set it around user code so that nested submissions name their parent and
/// a blocking `get` can lend the worker's CPU back to its raylet.
struct task_context {
  static constexpr uint32_t no_worker = std::numeric_limits<uint32_t>::max();

  task_id current;          // the running task (parent of what it submits)
  uint64_t submitted = 0;   // tasks submitted so far by `current`
  uint32_t worker = no_worker;
  caf::actor raylet;        // the worker's raylet, to report blocking

  /// Called (on this thread) when the running task is about to block and
  /// when it resumes; a pipelining worker hands back its queued tasks.
  std::function<void()> on_block;
  std::function<void()> on_unblock;
};

/// The calling thread's context, or nullptr outside of tasks.
task_context*& current_task_context() noexcept;

/// Sets the thread's context for its lifetime, restoring the previous one.
class task_context_guard {
public:
  explicit task_context_guard(task_context* ctx)
    : prev_(current_task_context()) {
    current_task_context() = ctx;
  }
  ~task_context_guard() {
    current_task_context() = prev_;
  }
  task_context_guard(const task_context_guard&) = delete;
  task_context_guard& operator=(const task_context_guard&) = delete;

private:
  task_context* prev_;
};

} // namespace cafray
