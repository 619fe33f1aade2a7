#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "proto/messages.hpp"

namespace cafray::detail {

/// The process's calls in flight to hosted actors, shared by the threads
/// that call and the core worker. A thread sends a call straight to the
/// host once the core worker watches that host and has forwarded every
/// call it was handed for it; until then calls go through the core worker.
/// A burst of calls to one actor (calls closer together than a few
/// microseconds, the caller not waiting in between) queues here instead,
/// and the core worker sends the host what gathered as one message, as
/// `submit_queue` does for tasks. Either way calls reach the host in the
/// order they were made, and a host that dies fails exactly the calls it had
/// not answered.
class actor_call_table {
public:
  enum class route {
    direct,    // send it to the host yourself
    via_core,  // hand it to the core worker (first calls, or some in line)
    doorbell,  // queued in the actor's outbox; tell the core worker
    queued,    // queued in the actor's outbox; the core worker knows already
    dead,      // the actor is dead: fail the call
  };

  /// Registers a call about to be sent to `host` and says how it travels;
  /// takes `spec` on `doorbell` and `queued`. On `dead`, `why` says what
  /// killed the actor.
  route track(const caf::actor& host, task_spec& spec, std::string& why);

  /// The calls queued for `actor` and their host, oldest first. Returns none
  /// (and lowers the doorbell) once the outbox is empty: the core worker
  /// calls it until then, sending each batch before taking the next.
  std::pair<caf::actor, std::vector<task_spec>> take(const actor_id& actor);

  /// The calling thread waits for results: its next call is not part of a
  /// burst.
  void paused() noexcept {
    epoch_.fetch_add(1, std::memory_order_relaxed);
  }

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
  using clock = std::chrono::steady_clock;

  struct entry {
    std::deque<object_id> pending;  // oldest first
    size_t via_core = 0;            // handed to the core worker, not sent on
    bool watched = false;
    bool dead = false;
    bool rung = false;              // the core worker was told of the outbox
    std::string why;
    std::vector<task_spec> outbox;  // a burst, not sent yet
    caf::actor_addr host;           // where the outbox goes (weak: a
                                    // strong handle here would keep a
                                    // detached host from being destroyed)
    clock::time_point last;         // of the latest call
    uint64_t epoch = 0;             // `paused` count at the latest call
  };

  std::atomic<uint64_t> epoch_{0};
  std::mutex mtx_;
  std::unordered_map<actor_id, entry> calls_;
  std::unordered_map<caf::actor_addr, actor_id> hosts_;
};

} // namespace cafray::detail
