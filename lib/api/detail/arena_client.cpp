#include "api/detail/arena_client.hpp"

#include <chrono>
#include <cstring>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "api/errors.hpp"
#include "common/parallel_copy.hpp"

namespace cafray::detail {

namespace {

constexpr auto arena_timeout = std::chrono::seconds{30};

/// One pin of this process on an object: unpinned when it goes.
class pin {
public:
  pin(object_store_actor store, uint64_t client, object_id id,
      std::shared_ptr<std::atomic<bool>> live)
    : store_(std::move(store)),
      client_(client),
      id_(id),
      live_(std::move(live)) {
  }

  pin(const pin&) = delete;
  pin& operator=(const pin&) = delete;

  ~pin() {
    if (live_->load())
      caf::anon_send(store_, unpin_atom_v, client_,
                     std::vector<object_id>{id_});
  }

private:
  object_store_actor store_;
  uint64_t client_;
  object_id id_;
  std::shared_ptr<std::atomic<bool>> live_;
};

} // namespace

arena_client::arena_client(caf::actor_system& sys, object_store_actor store)
  : sys_(sys),
    store_(std::move(store)),
    live_(std::make_shared<std::atomic<bool>>(true)) {
}

bool arena_client::attach(const caf::actor& self) {
  arena_info info;
  bool answered = false;
  {
    caf::scoped_actor scoped{sys_};
    scoped->request(store_, arena_timeout, attach_atom_v, self)
      .receive(
        [&](arena_info& x) {
          info = std::move(x);
          answered = true;
        },
        [&](caf::error&) {
          // No arena there (embedded store, older node): messages only.
        });
  }
  if (!answered)
    return false;
  auto mapped = shm_arena::attach(info.name, shm_arena::access::read_write);
  if (!mapped || (*mapped)->capacity() != info.capacity)
    return false;
  client_ = info.client;
  arena_ = std::move(*mapped);
  return true;
}

blob arena_client::adopt(const object_id& id, uint64_t offset,
                         uint64_t size) {
  auto held = std::make_shared<const pin>(store_, client_, id, live_);
  return arena_blob(arena_, offset, size, std::move(held));
}

blob arena_client::put(const object_id& id, const char* data, size_t size) {
  uint64_t offset = 0;
  caf::error failure;
  {
    caf::scoped_actor scoped{sys_};
    scoped
      ->request(store_, arena_timeout, allocate_atom_v, client_, id,
                static_cast<uint64_t>(size))
      .receive([&](uint64_t x) { offset = x; },
               [&](caf::error& err) { failure = std::move(err); });
  }
  if (failure)
    throw_error(failure);
  // One call per chunk maps the region's pages here instead of a fault per
  // page; a large object is copied by several threads.
  if (size > 0)
    parallel_copy(arena_->at(offset), data, size,
                  [this, offset](size_t first, size_t n) {
                    arena_->prefault(offset + first, n);
                  });
  caf::anon_send(store_, seal_atom_v, client_, id, offset,
                 static_cast<uint64_t>(size));
  return adopt(id, offset, size);
}

int64_t arena_client::offset_of(const void* ptr) const noexcept {
  if (!arena_)
    return -1;
  auto p = static_cast<const char*>(ptr);
  if (p < arena_->base() || p >= arena_->base() + arena_->capacity())
    return -1;
  return static_cast<int64_t>(p - arena_->base());
}

} // namespace cafray::detail
