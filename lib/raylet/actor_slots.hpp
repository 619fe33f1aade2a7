#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proto/messages.hpp"
#include "raylet/local_scheduler.hpp"

namespace cafray {

/// The actors a raylet runs in worker processes of their own, without
/// actors: creations waiting for their resources, processes starting, and
/// live actors with the resources they hold. An actor holds its resources
/// from the start of its process to its death; they come from the node's
/// local_scheduler, so tasks and actors draw on one account.
class actor_slots {
public:
  enum class phase : uint8_t { waiting, starting, alive };

  struct slot {
    task_spec spec;
    phase state = phase::waiting;
    int32_t pid = 0;
  };

  /// Queues a creation behind the others waiting; false (and nothing
  /// queued) if the actor is known already.
  bool add(task_spec spec);

  /// Reserves resources for waiting creations in arrival order, skipping
  /// those that do not fit yet, and returns the ones that may start their
  /// process now (they are `starting`).
  std::vector<actor_id> startable(local_scheduler& sched);

  /// The process of a starting actor runs as `pid`.
  void started(const actor_id& id, int32_t pid);

  /// The actor runs in its process; false if it was not starting.
  bool alive(const actor_id& id);

  /// The actor's slot, or nullptr.
  const slot* find(const actor_id& id) const;

  /// Forgets an actor (dead, or it failed to start) and gives back the
  /// resources it held. Returns its slot, or nothing if it was unknown.
  std::optional<slot> remove(const actor_id& id, local_scheduler& sched);

  /// Creations waiting for resources.
  size_t waiting() const {
    return waiting_.size();
  }

  /// Actors known here, in every phase.
  size_t size() const {
    return slots_.size();
  }

private:
  std::unordered_map<actor_id, slot> slots_;
  std::deque<actor_id> waiting_;  // oldest first
};

} // namespace cafray
