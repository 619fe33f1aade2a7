#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage/kv_store.hpp"

namespace cafray {

/// A `kv_store` in memory, for tests and for runs that need no durability.
class memory_kv_store final : public kv_store {
public:
  /// Creates a store with `tables` empty tables.
  explicit memory_kv_store(uint8_t tables = gcs_table_count);

  uint8_t table_count() const noexcept override;

  caf::error put(uint8_t table, const std::string& key,
                 const std::string& value) override;

  caf::expected<std::string> get(uint8_t table,
                                 const std::string& key) override;

  caf::error erase(uint8_t table, const std::string& key) override;

  caf::expected<std::vector<kv_entry>>
  scan(uint8_t table, const std::string& prefix) override;

  caf::error apply(const write_batch& batch) override;

private:
  // std::string compares through char_traits<char>, i.e. as unsigned bytes,
  // which is LMDB's default key order.
  std::vector<std::map<std::string, std::string>> tables_;
};

} // namespace cafray
