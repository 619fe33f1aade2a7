#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "proto/messages.hpp"

namespace cafray {

/// Longest key every store accepts. LMDB's default limit; the memory store
/// enforces it too so that both behave alike.
constexpr size_t max_key_size = 511;

/// One write of a `write_batch`: a put, or an erase when `erase` is set.
struct write_op {
  uint8_t table = 0;
  bool erase = false;
  std::string key;
  std::string value;
};

/// Writes that a `kv_store` applies atomically, in order: either all of them
/// become visible or none does.
class write_batch {
public:
  /// Adds a put of `key` in `table`.
  void put(uint8_t table, std::string key, std::string value);

  /// Adds an erase of `key` in `table`; erasing a missing key is no error.
  void erase(uint8_t table, std::string key);

  const std::vector<write_op>& ops() const noexcept {
    return ops_;
  }

  size_t size() const noexcept {
    return ops_.size();
  }

  bool empty() const noexcept {
    return ops_.empty();
  }

  /// Bytes of keys and values, a hint for how large a commit is.
  size_t bytes() const noexcept {
    return bytes_;
  }

  void clear() noexcept;

private:
  std::vector<write_op> ops_;
  size_t bytes_ = 0;
};

/// Tables of ordered string keys and opaque values, addressed by a small
/// table number. Keys compare bytewise (unsigned), so scans return rows in
/// the same order in every implementation.
///
/// A store has one owner at a time: it is not safe to call concurrently from
/// several threads, but consecutive calls may come from different threads.
class kv_store {
public:
  virtual ~kv_store();

  /// Number of tables; valid table numbers are `0 .. table_count() - 1`.
  virtual uint8_t table_count() const noexcept = 0;

  /// Writes one row in its own transaction.
  virtual caf::error put(uint8_t table, const std::string& key,
                         const std::string& value) = 0;

  /// Reads one row; fails with `errc::not_found` if the key is absent.
  virtual caf::expected<std::string> get(uint8_t table,
                                         const std::string& key) = 0;

  /// Removes one row; fails with `errc::not_found` if the key is absent.
  virtual caf::error erase(uint8_t table, const std::string& key) = 0;

  /// Every row whose key starts with `prefix` (all rows for an empty
  /// prefix), in key order.
  virtual caf::expected<std::vector<kv_entry>>
  scan(uint8_t table, const std::string& prefix) = 0;

  /// Applies all writes of `batch` in one transaction.
  virtual caf::error apply(const write_batch& batch) = 0;

protected:
  /// Checks the table number; `errc::storage_error` otherwise.
  caf::error validate_table(uint8_t table) const;

  /// Checks table number and key size; `errc::storage_error` otherwise.
  caf::error validate(uint8_t table, const std::string& key) const;

  /// Checks every op of `batch` with `validate`.
  caf::error validate(const write_batch& batch) const;
};

} // namespace cafray
