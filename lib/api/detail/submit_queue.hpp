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

  /// The caller stopped to wait for results: whatever it submits next is
  /// not part of a burst (a synchronous caller's next task goes straight to
  /// the raylet, however quickly its last one came back).
  void paused();

private:
  using clock = std::chrono::steady_clock;

  std::mutex mtx_;
  std::vector<task_spec> items_;
  bool rung_ = false;
  clock::time_point last_;
};

/// What the process tells its store about objects, in batches: objects it
/// sealed in the arena itself (put), for the store to adopt, and objects
/// its refs let go of. The first item rings the core worker's doorbell,
/// which takes all that gathered by the time it runs; adoptions go first,
/// so the store never sees a release overtake its object.
class release_queue {
public:
  struct batch {
    std::vector<object_id> sealed;
    std::vector<object_payload> payloads;
    std::vector<object_id> released;
  };

  /// Queues an object to adopt; true if the caller must ring the doorbell.
  bool push_sealed(const object_id& id, object_payload payload);

  /// Queues a release; true if the caller must ring the doorbell.
  bool push(const object_id& id);

  /// Everything queued; lowers the doorbell.
  batch take();

private:
  bool rung() const noexcept {
    return !items_.sealed.empty() || !items_.released.empty();
  }

  std::mutex mtx_;
  batch items_;
};

} // namespace cafray::detail
