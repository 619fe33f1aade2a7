#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "proto/messages.hpp"

namespace cafray {

/// The sealed objects of a node, readable by the clients on that node
/// without a message: the in-process counterpart of a shared-memory arena
/// (Plasma's model). Only the node's object store writes to it; readers
/// only ever see sealed, immutable objects.
class local_objects {
public:
  /// Publishes a sealed object.
  void insert(const object_id& id, object_payload payload);

  /// The object, or nullptr. Only for the single writer (the store): the
  /// pointer stays valid until that writer erases the object.
  const object_payload* find(const object_id& id) const;

  size_t size() const noexcept {
    return size_.load(std::memory_order_relaxed);
  }

  /// Withdraws an object (released by its owner).
  void erase(const object_id& id);

  /// Copies out the payloads if every object is sealed; false otherwise.
  bool find_all(const std::vector<object_id>& ids,
                std::vector<object_payload>& out) const;

  bool contains(const object_id& id) const;

private:
  static constexpr size_t shard_count = 16;

  struct shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<object_id, object_payload> objects;
  };

  shard& shard_of(const object_id& id) {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  const shard& shard_of(const object_id& id) const {
    return shards_[std::hash<object_id>{}(id) % shard_count];
  }

  std::array<shard, shard_count> shards_;
  std::atomic<size_t> size_{0};
};

} // namespace cafray
