#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proto/messages.hpp"

namespace cafray {

/// Someone on the node waiting for objects to be sealed in the arena.
class seal_watch {
public:
  virtual ~seal_watch();

  /// One of the watched objects was sealed. Runs on the sealing thread,
  /// after the seal and outside the arena's locks, so it must be short; it
  /// may also run after an `unwatch` of the same watch that raced with the
  /// seal.
  virtual void sealed(const object_id& id) = 0;
};

class local_objects;

/// Hands each watched object, read from the arena once sealed, to a
/// callback (which sends it to an actor, say). Keeps the arena weakly: the
/// arena may outlive or predecease whoever listens.
class forwarding_watch : public seal_watch {
public:
  using callback = std::function<void(const object_id&, object_payload)>;

  forwarding_watch(std::weak_ptr<local_objects> arena, callback f)
    : arena_(std::move(arena)), f_(std::move(f)) {
  }

  void sealed(const object_id& id) override;

private:
  std::weak_ptr<local_objects> arena_;
  callback f_;
};

/// The sealed objects of a node, readable by the clients on that node
/// without a message: the in-process counterpart of a shared-memory arena
/// (Plasma's model). Producers on the node (workers, actor hosts) create
/// and seal their results here themselves and then tell the store, which
/// adopts them; readers only ever see sealed, immutable objects, and a
/// reader waiting for an object is woken by the seal itself, not by a
/// message from the store.
class local_objects {
public:
  /// Publishes a sealed object and wakes whoever watches it; the producer
  /// then tells the store, which adopts it. Returns false if the object was
  /// there already (the first seal wins).
  bool insert(const object_id& id, object_payload payload);

  /// Producers may publish objects like `x` final (see `publish`): the
  /// store never hears of them.
  bool publishes(const object_payload& x) const noexcept {
    return final_limit_ >= 0
           && x.data.size() <= static_cast<uint64_t>(final_limit_);
  }

  /// Whether producers publish some objects final.
  bool publishes_final() const noexcept {
    return final_limit_ >= 0;
  }

  /// Publishes a sealed object the store never hears of (`publishes` holds
  /// for it): counted as adopted at once, and dropped on arrival if its
  /// owner released it already. Returns false if it was there already or
  /// is dropped.
  bool publish(const object_id& id, object_payload payload);

  /// Lets producers publish objects of up to `max_bytes` final. A store that
  /// needs to hear of every object (one reporting locations to a cluster)
  /// leaves it off; set before any producer runs.
  void publish_final_up_to(uint64_t max_bytes) noexcept {
    final_limit_ = static_cast<int64_t>(max_bytes);
  }

  /// How the store's adoption of an object went.
  enum class adoption {
    fresh,     // into the store's accounts now
    repeated,  // adopted (or published final) before: a second seal
    released,  // its owner released it first: not kept
  };

  /// The store takes an object into its accounts: seals it if a producer
  /// has not done so already.
  adoption adopt(const object_id& id, object_payload payload);

  /// The distinct IDs among `ids` that are not sealed yet.
  std::vector<object_id> missing(const std::vector<object_id>& ids) const;

  /// Registers `w` for `ids` (distinct, from `missing`): `w->sealed` runs
  /// exactly once for each of them, when it is sealed, or from this call
  /// if a seal raced with the registration.
  void watch(const std::vector<object_id>& ids,
             const std::shared_ptr<seal_watch>& w);

  /// Registers `w` for those of `ids` not sealed yet, in one lookup each,
  /// and returns how many registrations it made (a repeated ID counts each
  /// time): `w->sealed` runs once per registration, on the sealing thread.
  size_t watch_missing(const std::vector<object_id>& ids,
                       const std::shared_ptr<seal_watch>& w);

  /// Drops every registration of `w`.
  void unwatch(const std::vector<object_id>& ids, const seal_watch* w);

  /// A copy of the object (sharing its bytes), or nothing.
  std::optional<object_payload> find(const object_id& id) const;

  size_t size() const noexcept {
    return size_.load(std::memory_order_relaxed);
  }

  /// What `erase` found.
  enum class erased { absent, unadopted, adopted };

  /// Withdraws an object (a reader's copy of it).
  erased erase(const object_id& id);

  /// The owner released the object (the store's release): it goes now if
  /// it is here, and an adoption or final publication still to come drops
  /// it on arrival.
  void release(const object_id& id);

  /// The bytes of the objects adopted or published final.
  uint64_t bytes() const noexcept {
    return bytes_.load(std::memory_order_relaxed);
  }

  /// Copies out the payloads if every object is sealed; false otherwise.
  bool find_all(const std::vector<object_id>& ids,
                std::vector<object_payload>& out) const;

  bool contains(const object_id& id) const;

  /// The IDs of the sealed objects (a node that leaves copies them to
  /// another node first).
  std::vector<object_id> sealed_ids() const;

private:
  static constexpr size_t shard_count = 16;

  using watch_ptr = std::shared_ptr<seal_watch>;

  /// An object as the arena keeps it: a successful value costs its bytes
  /// and a few words, the error record only exists for failures. Until it
  /// is sealed, the entry only holds whoever watches for it (the seal then
  /// fills the node a watcher allocated).
  struct entry {
    blob data;
    std::shared_ptr<const error_record> error;
    uint8_t error_code = 0;
    bool sealed = false;
    bool adopted = false;
    watch_ptr watcher;               // the first one
    std::vector<watch_ptr> others;  // rare: several watch one object

    void assign(object_payload&& x);
    object_payload payload() const;
    bool watched() const noexcept {
      return watcher != nullptr;
    }
  };

  /// The watchers of one object, taken by its seal, to call once the
  /// shard's lock is gone.
  struct taken_watchers {
    watch_ptr first;
    std::vector<watch_ptr> others;

    void wake(const object_id& id) const;
  };

  struct shard {
    mutable std::mutex mtx;  // held for a hash lookup at most
    std::unordered_map<object_id, entry> objects;
    /// Released before the store adopted them: their arrival is dropped.
    std::unordered_set<object_id> released;
  };

  /// Seals `payload` into `e` (new or only watched) under its shard's lock
  /// and moves its watchers to `wake`.
  void seal_locked(entry& e, object_payload&& payload, bool adopted,
                   taken_watchers& wake);

  /// Drops a sealed entry, keeping the accounts.
  void drop_locked(shard& s,
                   std::unordered_map<object_id, entry>::iterator i);

  shard& shard_of(const object_id& id) {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  const shard& shard_of(const object_id& id) const {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  std::array<shard, shard_count> shards_;
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> bytes_{0};
  int64_t final_limit_ = -1;  // none
};

} // namespace cafray
