#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "proto/messages.hpp"

namespace cafray::detail {

/// The process's outgoing task submissions. An occasional submission goes
/// straight to the raylet; a burst queues here and the core worker forwards
/// it as one message (the first queued task rings the doorbell), so the
/// raylet handles a batch per message instead of a message per task.
class submit_queue {
public:
  enum class route {
    direct,    // send it to the raylet yourself
    doorbell,  // queued; tell the core worker
    queued,    // queued; the core worker knows already
  };

  /// Decides how `spec` travels; takes it unless the route is direct.
  route push(task_spec& spec);

  /// Everything queued, oldest first. Returns nothing (and lowers the
  /// doorbell) once the queue is empty: the core worker calls it until then,
  /// sending each batch before taking the next, which keeps the order.
  std::vector<task_spec> take();

private:
  using clock = std::chrono::steady_clock;

  std::mutex mtx_;
  std::vector<task_spec> items_;
  bool rung_ = false;
  clock::time_point last_;
};

/// Objects the process's refs let go of, on their way to the store in
/// batches: the first one rings the core worker's doorbell, which takes all
/// that gathered by the time it runs.
class release_queue {
public:
  /// Queues an ID; true if the caller must ring the doorbell.
  bool push(const object_id& id);

  /// Everything queued; lowers the doorbell.
  std::vector<object_id> take();

private:
  std::mutex mtx_;
  std::vector<object_id> items_;
};

} // namespace cafray::detail
