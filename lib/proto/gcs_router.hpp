#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/send.hpp>

#include "common/ids.hpp"
#include "proto/gcs_actor.hpp"

namespace cafray {

/// Routes GCS keys to shards: every client must route the same way.
class gcs_router {
public:
  gcs_router() = default;

  explicit gcs_router(std::vector<gcs_actor> shards)
    : shards_(std::move(shards)) {
  }

  bool empty() const noexcept {
    return shards_.empty();
  }

  size_t size() const noexcept {
    return shards_.size();
  }

  size_t index_of(const std::string& key) const noexcept {
    return static_cast<size_t>(stable_hash(key) % shards_.size());
  }

  const gcs_actor& shard_for(const std::string& key) const {
    return shards_[index_of(key)];
  }

  const std::vector<gcs_actor>& shards() const noexcept {
    return shards_;
  }

  /// Fire-and-forget batched write, split by shard.
  void put_batch(gcs_table table, std::vector<kv_entry> rows) const {
    if (shards_.empty() || rows.empty())
      return;
    if (shards_.size() == 1) {
      caf::anon_send(shards_[0], put_atom_v, static_cast<uint8_t>(table),
                     std::move(rows));
      return;
    }
    std::vector<std::vector<kv_entry>> parts(shards_.size());
    for (auto& row : rows)
      parts[index_of(row.key)].emplace_back(std::move(row));
    for (size_t i = 0; i < parts.size(); ++i)
      if (!parts[i].empty())
        caf::anon_send(shards_[i], put_atom_v,
                       static_cast<uint8_t>(table), std::move(parts[i]));
  }

private:
  std::vector<gcs_actor> shards_;
};

} // namespace cafray
