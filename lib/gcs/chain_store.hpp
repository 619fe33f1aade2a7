#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gcs/chain.hpp"

namespace cafray {

/// Where a chain replica keeps the rows it applied: memory in tests, one LMDB
/// environment per replica in the cluster. The replica calls it from one
/// thread at a time and never inside another call.
class chain_store {
public:
  virtual ~chain_store();

  /// Applies `entries`, consecutive and in order, and records the last one's
  /// sequence number, all durably before returning: one transaction. The
  /// replica forwards and acknowledges only what this returned true for; on
  /// false nothing may have been applied and the replica stops.
  virtual bool apply(const std::vector<chain_entry>& entries) = 0;

  /// The value of `key`, if present.
  virtual std::optional<std::string> read(uint8_t table,
                                          const std::string& key) const = 0;

  /// Sequence number of the last applied write; survives a restart.
  virtual chain_seq last_applied() const = 0;

  /// Every row, in table and key order.
  virtual std::vector<chain_row> rows() const = 0;

  /// Replaces everything with `rows`, applied up to `seq`.
  virtual bool restore(const std::vector<chain_row>& rows, chain_seq seq) = 0;
};

/// A `chain_store` in a map, for tests and for the logic's own checks.
class memory_chain_store : public chain_store {
public:
  bool apply(const std::vector<chain_entry>& entries) override;

  std::optional<std::string> read(uint8_t table,
                                  const std::string& key) const override;

  chain_seq last_applied() const override {
    return last_;
  }

  std::vector<chain_row> rows() const override;

  bool restore(const std::vector<chain_row>& rows, chain_seq seq) override;

  /// How often the write with sequence number `seq` was applied.
  size_t applications(chain_seq seq) const;

  /// How often the write of request `request` of `client` was applied, under
  /// any sequence number.
  size_t applications(chain_client_id client, uint64_t request) const;

  /// Every write applied here, one entry per application.
  size_t total_applications() const noexcept {
    return total_;
  }

  /// A hash of the rows and the last sequence number: equal digests mean
  /// equal contents.
  uint64_t digest() const;

  /// Makes the next `apply` fail, as a full disk would.
  void fail_next_apply() noexcept {
    fail_next_ = true;
  }

private:
  std::map<std::pair<uint8_t, std::string>, std::string> rows_;
  std::map<chain_seq, size_t> applications_;
  std::map<std::pair<chain_client_id, uint64_t>, size_t> requests_;
  chain_seq last_ = 0;
  size_t total_ = 0;
  bool fail_next_ = false;
};

} // namespace cafray
