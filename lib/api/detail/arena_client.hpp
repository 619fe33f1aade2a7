#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "object_store/shm_arena.hpp"
#include "proto/object_store_actor.hpp"

namespace cafray::detail {

/// A process's map of its node's shared-memory arena: a worker process, or
/// a driver on the machine of the node whose store it uses. Objects there
/// are read in place (a blob pointing into the arena, pinned in the store
/// until its last copy goes) and large puts are written straight into it
/// (reserve a region, copy, seal by message) instead of travelling as
/// messages.
class arena_client : public std::enable_shared_from_this<arena_client> {
public:
  arena_client(caf::actor_system& sys, object_store_actor store);

  /// Asks the store for its arena and maps it. `self` stands for this
  /// process: the store drops the process's pins when it goes. False if
  /// the store has no arena or it cannot be mapped here (e.g. the store is
  /// on another machine); the process then gets objects as messages.
  bool attach(const caf::actor& self);

  bool attached() const noexcept {
    return arena_ != nullptr;
  }

  uint64_t client() const noexcept {
    return client_;
  }

  const std::shared_ptr<shm_arena>& arena() const noexcept {
    return arena_;
  }

  /// An object the store pinned for this process at `offset`: its bytes in
  /// place. The pin goes (by message) when the last copy of the blob, or of
  /// anything sharing its keepalive, does.
  blob adopt(const object_id& id, uint64_t offset, uint64_t size);

  /// Writes a new object into the arena: reserves a region at the store,
  /// copies `size` bytes from `data` into it and seals it. Returns the
  /// object's bytes in place (pinned). Throws the typed error
  /// errc::object_too_large when it does not fit.
  blob put(const object_id& id, const char* data, size_t size);

  /// Where `ptr` lies in the arena, or -1.
  int64_t offset_of(const void* ptr) const noexcept;

  /// The runtime stops: pins are no longer released one by one (the store
  /// drops them all when this process's actor goes).
  void detach() noexcept {
    live_->store(false);
  }

private:
  caf::actor_system& sys_;
  object_store_actor store_;
  uint64_t client_ = 0;
  std::shared_ptr<shm_arena> arena_;
  std::shared_ptr<std::atomic<bool>> live_;
};

} // namespace cafray::detail
