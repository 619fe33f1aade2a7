#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>

#include "object_store/local_objects.hpp"
#include "proto/messages.hpp"

namespace cafray::detail {

/// One blocked thread's slot: filled by the core worker, read by the thread.
/// A `get` also watches the node's arena: the seal of the last missing
/// object wakes the thread before the store's answer arrives.
struct waiter : seal_watch {
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<bool> done{false};      // woken, by the answer or the seals
  std::atomic<bool> answered{false};  // the fields below are filled
  std::atomic<size_t> unsealed{0};    // watched objects not sealed yet
  std::vector<object_payload> payloads;
  std::vector<uint8_t> flags;
  caf::error err;

  /// Marks the slot answered and wakes its thread.
  void finish();

  /// Wakes the thread without an answer.
  void wake();

  void sealed(const object_id& id) override;

  /// Blocks until `finish`; spins briefly first, since most answers come
  /// back within microseconds and a futex wake-up costs more than that.
  void await();

  /// Like `await`, for at most `timeout`; true if woken.
  bool await_for(std::chrono::nanoseconds timeout);
};

/// The process's blocked threads by token. Threads and the core worker
/// share it; a token is what crosses the actor boundary.
class waiter_table {
public:
  /// A fresh slot; fails with errc::shutting_down once closed.
  std::pair<uint64_t, std::shared_ptr<waiter>> open();

  /// Removes and returns a slot, or nullptr if it is gone.
  std::shared_ptr<waiter> take(uint64_t token);

  /// Fails every slot and refuses new ones (shutdown).
  void close(const caf::error& reason);

private:
  std::mutex mtx_;
  std::unordered_map<uint64_t, std::shared_ptr<waiter>> slots_;
  uint64_t next_ = 1;
  bool closed_ = false;
};

} // namespace cafray::detail
