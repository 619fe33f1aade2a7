#pragma once

// A driver's direct task submission (Ray's direct task transport): the
// driver leases idle worker processes from its raylet and sends them its
// plain tasks over task channels of its own (proto/task_channel.hpp); their
// small results come back the same way, into the driver's objects. The
// raylet, the head's scheduler thread and CAF's middleman stay off the
// path of such a task. As in Ray, the driver owns such a small result: it
// lives only here until something outside needs it (the ref becomes a
// task's or an actor call's argument, is serialized into a value, or a
// get or wait asks the store), and then it is promoted: put into the store
// once. A result that never leaves costs the store nothing, not even its
// release. Tasks that need more (argument refs, other
// resources, actors) take the raylet's path as before, and so does any
// task while no worker can be leased.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "object_store/local_objects.hpp"
#include "proto/messages.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray::detail {

class direct_tasks {
public:
  struct config {
    caf::actor_system* sys = nullptr;
    /// The raylets to lease from, in order of preference (this node's
    /// first): a busy node's tasks run on the others' workers.
    std::vector<raylet_actor> raylets;
    /// Where results go for this process's readers.
    std::shared_ptr<local_objects> objects;
    /// Submits a task the raylet's way (a lease that ended left it unrun,
    /// or its worker died and it has retries left).
    std::function<void(task_spec)> resubmit;
    /// Records a task's failure (its worker died and no retries are left):
    /// for this process's readers and the store.
    std::function<void(const object_id&, object_payload)> fail;
    /// Puts a result into the store (promotion).
    std::function<void(const object_id&, object_payload)> store;
    /// Releases a result in the store (promoted after its ref died).
    std::function<void(const object_id&)> release;
    /// The demand of a plain task, as every lease holds it.
    resource_map demand;
    /// Leases held at most at once (the driver's node's CPUs).
    size_t max_leases = 8;
    /// A lease goes back to the raylet after it was idle this long.
    std::chrono::milliseconds linger{100};
  };

  explicit direct_tasks(config cfg);

  ~direct_tasks();

  direct_tasks(const direct_tasks&) = delete;
  direct_tasks& operator=(const direct_tasks&) = delete;

  /// Sends `spec` (stamped) to a leased worker; false, leaving `spec` alone,
  /// if it does not qualify or no worker can be leased now.
  bool submit(task_spec& spec);

  /// The last ref to `id` died: a result in flight here is dropped on
  /// arrival. True if the store never had (and never gets) the object, so
  /// it needs no release.
  bool released(const object_id& id);

  /// Puts these objects into the store if they are results only this
  /// process holds (now, or on arrival).
  void promote(const std::vector<object_id>& ids);
  void promote(const object_id& id);

  /// A result that arrived here some other way (an actor call's) and only
  /// this process holds: owned like a direct task's. Goes to the store at
  /// once if it was promoted before it arrived.
  void adopt(const object_id& id, const object_payload& payload);

  /// Whether `id` is the result of a task in flight here (it arrives here,
  /// or its task goes through the raylet and its result still does).
  bool in_flight(const object_id& id) const;

  /// A wait on objects this process owns (its direct tasks' results, its
  /// actor results and puts): the flags of `wait`, answered here as Ray's
  /// owner answers from its memory store, without a round trip to the
  /// store. Nothing if some object is none of these (the store answers).
  std::optional<std::vector<uint8_t>>
  wait_owned(const std::vector<object_id>& ids, uint64_t num_ready,
             caf::timespan timeout);

  /// Returns every lease and waits for the channels' threads.
  void stop();

  /// Leases held right now (for tests).
  size_t leases() const;

private:
  struct connection;

  /// Whether `spec` may go over a lease.
  bool qualifies(const task_spec& spec) const;

  /// Leases another worker and connects to it; nullptr if none is to be
  /// had. Called without the lock.
  std::shared_ptr<connection> acquire();

  /// The channel's reader thread: results, a bye, or the end.
  void read_loop(std::shared_ptr<connection> c);

  /// A connection ended: what it still owed runs again or fails.
  void lost(connection& c, bool bye);

  config cfg_;
  mutable std::mutex mtx_;
  std::vector<std::shared_ptr<connection>> open_;
  /// What becomes of a result in flight when it arrives.
  /// (`promote_released`: the ref died after its promotion; the store
  /// gets the result and then its release.)
  enum class on_arrival : uint8_t { keep, drop, promote, promote_released };
  std::unordered_map<object_id, on_arrival> in_flight_;
  /// Results that arrived and only this process holds.
  std::unordered_set<object_id> held_;
  /// Promoted before they arrived some other way (see adopt).
  std::unordered_set<object_id> wanted_;
  /// Every connection whose reader thread was not joined yet.
  std::vector<std::shared_ptr<connection>> all_;
  std::chrono::steady_clock::time_point next_try_{};
  /// Raylets that did not answer a lease request are asked no more.
  std::vector<raylet_actor> raylets_;
  bool acquiring_ = false;
  bool stopped_ = false;
};

} // namespace cafray::detail
