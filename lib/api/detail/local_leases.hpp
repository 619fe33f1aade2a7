#pragma once

// A driver's direct task submission in embedded mode (Ray's direct task
// transport, within one process): the driver leases idle workers from its
// raylet and queues its plain tasks on their task queues itself. The raylet
// and the core worker stay off the path of such a task; the executor that
// runs it seals its result in the node's objects as usual (where the
// driver's get finds it) and writes its lineage to the GCS. Tasks that need
// more (argument refs, other resources, actors), tasks submitted by tasks,
// and any task while no worker can be leased take the raylet's path.
//
// A lease ends when its worker idled 100 ms (the executor ends it), when
// the raylet has tasks waiting for a worker (it revokes its leases: the
// tasks queued on them still run), or when its running task blocks in get
// (the tasks queued behind it go to the raylet). The driver then leases
// anew when it has work.

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/fwd.hpp>

#include "proto/messages.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray {

class task_queue;
class lease_group;

namespace detail {

/// Whether `spec` may run on a worker leased for `demand`: a plain task
/// with one result, arguments by value and exactly that demand.
bool leasable(const task_spec& spec, const resource_map& demand);

class local_leases {
public:
  struct config {
    caf::actor_system* sys = nullptr;
    raylet_actor raylet;
    /// The demand of a plain task, as every lease holds it.
    resource_map demand;
    /// Leases held at most at once (the node's CPUs).
    size_t max_leases = 1;
  };

  explicit local_leases(config cfg);

  ~local_leases();

  local_leases(const local_leases&) = delete;
  local_leases& operator=(const local_leases&) = delete;

  /// Queues `spec` (stamped) on a leased worker; false, leaving `spec`
  /// alone, if it does not qualify or no worker can be leased now.
  bool submit(task_spec& spec);

  /// Leases held right now (for tests).
  size_t leases() const;

  /// Tasks that went to leased workers so far (for tests).
  uint64_t submitted() const;

private:
  struct lease {
    std::shared_ptr<task_queue> queue;
    uint64_t token = 0;
    size_t depth = 0;  // what its queue held after the last push
  };

  /// Leases another worker of this process; an empty lease if none is to
  /// be had. Called without the lock.
  lease acquire();

  config cfg_;
  std::shared_ptr<lease_group> group_;
  mutable std::mutex mtx_;
  std::vector<lease> open_;
  std::chrono::steady_clock::time_point next_try_{};
  bool acquiring_ = false;
  uint64_t submitted_ = 0;
};

} // namespace detail

} // namespace cafray
