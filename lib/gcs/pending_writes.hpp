#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"
#include "storage/kv_store.hpp"

namespace cafray {

/// The writes a GCS shard accepted but has not committed yet (group commit).
/// Reads consult it before the store so that a client always sees its own
/// writes. Only the last write of a key survives: one commit writes each key
/// once.
class pending_writes {
public:
  /// What the pending batch knows about a key.
  enum class lookup_result {
    unknown, // not written since the last commit: ask the store
    written, // holds a value not yet committed
    erased,  // erased since the last commit
  };

  explicit pending_writes(uint8_t tables = gcs_table_count);

  void put(uint8_t table, std::string key, std::string value);

  void erase(uint8_t table, std::string key);

  /// Looks up `key`; on `written`, `value` points to the pending value.
  lookup_result lookup(uint8_t table, const std::string& key,
                       const std::string*& value) const;

  /// Applies the pending writes whose keys start with `prefix` to `rows`,
  /// the store's scan result (sorted by key). The result stays sorted.
  void overlay(uint8_t table, const std::string& prefix,
               std::vector<kv_entry>& rows) const;

  /// Writes accepted since the last commit, repeated keys included.
  size_t writes() const noexcept {
    return writes_;
  }

  bool empty() const noexcept {
    return writes_ == 0;
  }

  /// Moves everything into one batch, in table and key order, and clears.
  write_batch take();

  void clear();

private:
  // std::nullopt marks an erase.
  using table_type = std::map<std::string, std::optional<std::string>>;

  std::vector<table_type> tables_;
  size_t writes_ = 0;
};

} // namespace cafray
