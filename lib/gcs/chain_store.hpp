#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gcs/chain.hpp"

namespace cafray {

/// Where a chain replica keeps what it applied: the rows, the log of writes
/// the chain may not have acknowledged yet, and the retry table. Memory in
/// tests, one LMDB environment per replica in the cluster. The replica calls
/// it from one thread at a time and never inside another call.
///
/// Everything `apply` and `restore` wrote survives a restart: a replica
/// built on a reopened store resends its log and applies retries once, so
/// that restarting every replica loses no acknowledged write.
class chain_store {
public:
  virtual ~chain_store();

  /// Applies `entries`, consecutive and in order, appends them to the log,
  /// records them in the retry table and records the last one's sequence
  /// number, all durably before returning: one transaction. The replica
  /// forwards and acknowledges only what this returned true for; on false
  /// nothing was applied.
  ///
  /// A store may leave the rows of `entries` to `apply_pending` (see
  /// `pending`): they are durable in the log already, reads see them, and
  /// a restart writes them to their tables.
  virtual bool apply(const std::vector<chain_entry>& entries) = 0;

  /// Writes the rows that `apply` left for later, in one transaction; true
  /// if it did or nothing waited. On false the store can write no more
  /// (reads still see those rows) and the replica stops. The replica calls
  /// it in a turn of its own, once its forward left.
  virtual bool apply_pending();

  /// Applied writes whose rows wait for `apply_pending`.
  virtual size_t pending() const noexcept;

  /// Whether the last failed `apply` failed because the store reached its
  /// maximum size (the head then refuses the write and carries on) rather
  /// than for a reason that stops the replica.
  virtual bool full() const noexcept = 0;

  /// Whether `write` fits the store at all (table number, key length): the
  /// head refuses writes that do not.
  virtual bool accepts(const chain_write& write) const = 0;

  /// The value of `key`, if present.
  virtual std::optional<std::string> read(uint8_t table,
                                          const std::string& key) const = 0;

  /// Sequence number of the last applied write; survives a restart.
  virtual chain_seq last_applied() const = 0;

  /// Every row, in table and key order.
  virtual std::vector<chain_row> rows() const = 0;

  /// The rows of `table` whose key starts with `prefix`, in key order. This
  /// implementation filters `rows()`; stores with an index do better.
  virtual std::vector<chain_row> scan(uint8_t table,
                                      const std::string& prefix) const;

  /// The chain acknowledged everything up to `seq`: the log need not keep
  /// it. May take effect only with the next `apply`.
  virtual void trim(chain_seq seq) = 0;

  /// The log after the last trim and the retry table, as last written.
  virtual chain_durable_state recover() const = 0;

  /// The retry table as the last `apply` or `restore` left it: the replica
  /// decides retries on this one, rather than keeping a copy of its own.
  virtual const chain_client_table& clients() const noexcept = 0;

  /// Replaces everything with `snapshot`: its rows, its retry table and an
  /// empty log, applied up to `snapshot.seq`. One transaction.
  virtual bool restore(const chain_snapshot& snapshot) = 0;

  /// A hash of the rows and the last sequence number: equal digests mean
  /// equal contents, whatever the implementation.
  uint64_t digest() const;
};

/// The digest of `rows` at `seq`, as `chain_store::digest` computes it.
uint64_t chain_digest(const std::vector<chain_row>& rows, chain_seq seq);

/// A `chain_store` in memory, for tests and for the logic's own checks.
/// "Durable" means: kept by this object, which a test may hand to a new
/// replica to simulate a restart.
class memory_chain_store : public chain_store {
public:
  bool apply(const std::vector<chain_entry>& entries) override;

  bool full() const noexcept override {
    return full_;
  }

  bool accepts(const chain_write& write) const override;

  std::optional<std::string> read(uint8_t table,
                                  const std::string& key) const override;

  chain_seq last_applied() const override {
    return last_;
  }

  std::vector<chain_row> rows() const override;

  void trim(chain_seq seq) override;

  chain_durable_state recover() const override;

  const chain_client_table& clients() const noexcept override {
    return clients_;
  }

  bool restore(const chain_snapshot& snapshot) override;

  /// How often the write with sequence number `seq` was applied.
  size_t applications(chain_seq seq) const;

  /// How often the write of request `request` of `client` was applied, under
  /// any sequence number.
  size_t applications(chain_client_id client, uint64_t request) const;

  /// Every write applied here, one entry per application.
  size_t total_applications() const noexcept {
    return total_;
  }

  /// Successful calls of `apply`: transactions.
  size_t transactions() const noexcept {
    return transactions_;
  }

  /// Makes the next `apply` fail, as a broken disk would, or with `full` as
  /// a store at its maximum size would.
  void fail_next_apply(bool full = false) noexcept {
    fail_next_ = true;
    fail_full_ = full;
  }

  /// Makes the next `apply_pending` fail, as a store that can no longer
  /// write would (this store writes rows with `apply`, so nothing waits).
  void fail_next_rows() noexcept {
    fail_rows_ = true;
  }

  bool apply_pending() override;

  /// Makes `accepts` refuse keys longer than `size`.
  void limit_key_size(size_t size) noexcept {
    max_key_size_ = size;
  }

private:
  std::map<std::pair<uint8_t, std::string>, std::string> rows_;
  std::map<chain_seq, chain_entry> log_;
  chain_client_table clients_;
  std::map<chain_seq, size_t> applications_;
  std::map<std::pair<chain_client_id, uint64_t>, size_t> requests_;
  chain_seq last_ = 0;
  chain_seq trimmed_ = 0;
  size_t total_ = 0;
  size_t transactions_ = 0;
  size_t max_key_size_ = SIZE_MAX;
  bool fail_next_ = false;
  bool fail_full_ = false;
  bool fail_rows_ = false;
  bool full_ = false;
};

} // namespace cafray
