#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include <unordered_map>
#include <vector>

#include "proto/messages.hpp"

namespace cafray {

/// Someone on the node waiting for objects to be sealed in the arena.
class seal_watch {
public:
  virtual ~seal_watch();

  /// One of the watched objects was sealed. Runs on the sealing thread,
  /// under the arena's watch lock: must be short; it may read the arena
  /// (find, contains) but not seal, erase or watch.
  virtual void sealed(const object_id& id) = 0;
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
  /// Publishes a sealed object and wakes whoever watches it. Returns false
  /// if the object was there already (the first seal wins).
  bool insert(const object_id& id, object_payload payload);

  /// The store takes an object into its accounts: seals it if a producer
  /// has not done so already. Returns false if the store adopted it before
  /// (a second seal of the same ID).
  bool adopt(const object_id& id, object_payload payload);

  /// The distinct IDs among `ids` that are not sealed yet.
  std::vector<object_id> missing(const std::vector<object_id>& ids) const;

  /// Registers `w` for `ids` (distinct, from `missing`): `w->sealed` runs
  /// exactly once for each of them, when it is sealed, or from this call
  /// if a seal raced with the registration.
  void watch(const std::vector<object_id>& ids,
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

  /// Withdraws an object (released by its owner).
  erased erase(const object_id& id);

  /// Copies out the payloads if every object is sealed; false otherwise.
  bool find_all(const std::vector<object_id>& ids,
                std::vector<object_payload>& out) const;

  bool contains(const object_id& id) const;

private:
  static constexpr size_t shard_count = 16;

  /// An object as the arena keeps it: a successful value costs its bytes
  /// and a few words, the error record only exists for failures.
  struct entry {
    blob data;
    std::shared_ptr<const error_record> error;
    uint8_t error_code = 0;
    bool adopted = false;

    void assign(object_payload&& x);
    object_payload payload() const;
  };

  struct shard {
    mutable std::mutex mtx;  // held for a hash lookup at most
    std::unordered_map<object_id, entry> objects;
  };

  /// Wakes the watchers of a freshly sealed object.
  void notify(const object_id& id);

  shard& shard_of(const object_id& id) {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  const shard& shard_of(const object_id& id) const {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  std::array<shard, shard_count> shards_;
  std::atomic<size_t> size_{0};

  std::mutex watch_mtx_;
  std::unordered_multimap<object_id, std::shared_ptr<seal_watch>> watches_;
  std::atomic<size_t> watch_count_{0};
};

} // namespace cafray
