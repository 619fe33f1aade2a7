#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>

#include "common/ids.hpp"

namespace cafray {
class local_objects;
} // namespace cafray

namespace cafray::detail {

/// The process's calls in flight to hosted actors, shared by the threads
/// that call and the core worker. A thread sends a call straight to the
/// host once the core worker watches that host and has forwarded every
/// call it was handed for it; until then calls go through the core worker.
/// Either way they reach the host in the order they were made, and a host
/// that dies fails exactly the calls it had not answered.
///
/// A host in this process publishes a small result final in the node's
/// arena and tells nobody (see local_objects::publishes): such a call is
/// done once its result is sealed there. A host runs calls in the order
/// they were made, so a sealed result also finishes every older call.
class actor_call_table {
public:
  /// `objects`: the arena hosts of this process publish into, if any.
  explicit actor_call_table(std::shared_ptr<local_objects> objects = nullptr);

  enum class route {
    direct,    // send it to the host yourself
    via_core,  // hand it to the core worker (first calls, or some in line)
    dead,      // the actor is dead: fail the call
  };

  /// Registers a call and says how it travels; on `dead`, `why` says what
  /// killed the actor. Otherwise calls `send(route)`, under the table's
  /// lock: the host gets this process's calls in the order of its books.
  template <class Send>
  route track(const actor_id& actor, const object_id& id, std::string& why,
              Send&& send) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto result = track_locked(actor, id, why);
    if (result != route::dead)
      send(result);
    return result;
  }

  /// The core worker forwarded a call it was handed. Returns true the first
  /// time for this actor: the caller must monitor `host` first.
  bool watch(const actor_id& actor, const caf::actor_addr& host);

  /// After the core worker sent a forwarded call on to the host.
  void forwarded(const actor_id& actor);

  /// A call finished (its result arrived as a message).
  void done(const actor_id& actor, const object_id& id);

  /// The host died: marks its actor dead and returns the calls it had not
  /// answered.
  std::pair<actor_id, std::vector<object_id>>
  fail(const caf::actor_addr& host, const std::string& why);

  /// How many calls to `actor` the books hold (answered ones leave them
  /// when the next call comes).
  size_t in_flight(const actor_id& actor);

private:
  struct entry;

  route track_locked(const actor_id& actor, const object_id& id,
                     std::string& why);

  /// Drops the calls whose results (or a younger call's) are sealed.
  void prune(entry& e);

  struct entry {
    std::deque<object_id> pending;  // oldest first
    size_t via_core = 0;            // handed to the core worker, not sent on
    bool watched = false;
    bool dead = false;
    std::string why;
  };

  std::shared_ptr<local_objects> objects_;
  std::mutex mtx_;
  std::unordered_map<actor_id, entry> calls_;
  std::unordered_map<caf::actor_addr, actor_id> hosts_;
};

} // namespace cafray::detail
