#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>

#include "common/ids.hpp"

namespace cafray::detail {

/// The process's calls in flight to hosted actors, shared by the threads
/// that call and the core worker. A thread sends a call straight to the
/// host once the core worker watches that host and has forwarded every
/// call it was handed for it; until then calls go through the core worker.
/// Either way they reach the host in the order they were made, and a host
/// that dies fails exactly the calls it had not answered.
class actor_call_table {
public:
  enum class route {
    direct,    // send it to the host yourself
    via_core,  // hand it to the core worker (first calls, or some in line)
    dead,      // the actor is dead: fail the call
  };

  /// Registers a call about to be sent and says how it travels; on `dead`,
  /// `why` says what killed the actor.
  route track(const actor_id& actor, const object_id& id, std::string& why);

  /// The core worker forwarded a call it was handed. Returns true the first
  /// time for this actor: the caller must monitor `host` first.
  bool watch(const actor_id& actor, const caf::actor_addr& host);

  /// After the core worker sent a forwarded call on to the host.
  void forwarded(const actor_id& actor);

  /// A call finished (its result arrived).
  void done(const actor_id& actor, const object_id& id);

  /// The host died: marks its actor dead and returns the calls it had not
  /// answered.
  std::pair<actor_id, std::vector<object_id>>
  fail(const caf::actor_addr& host, const std::string& why);

private:
  struct entry {
    std::deque<object_id> pending;  // oldest first
    size_t via_core = 0;            // handed to the core worker, not sent on
    bool watched = false;
    bool dead = false;
    std::string why;
  };

  std::mutex mtx_;
  std::unordered_map<actor_id, entry> calls_;
  std::unordered_map<caf::actor_addr, actor_id> hosts_;
};

} // namespace cafray::detail
