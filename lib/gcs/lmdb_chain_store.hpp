#pragma once

#include <deque>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "gcs/chain_store.hpp"
#include "storage/lmdb_kv_store.hpp"

namespace cafray {

/// A `chain_store` in one LMDB environment (one directory per replica):
/// one named database per row table, then four of its own: the meta data
/// (last applied, trimmed), the log of earlier versions (one record per
/// entry, moved to the new log at open), the retry table, and the log (one
/// record per transaction, keyed by its last entry). Every `apply`
/// and `restore` is one write transaction, begun and committed inside the
/// call. A full map grows up to `lmdb_options::max_map_size`; past it
/// `apply` fails with `full()` set and `last_error()` holding
/// `errc::gcs_full`.
///
/// LMDB must not open the same environment twice in one process: destroy a
/// store before opening its directory again. LMDB's other limits are the
/// `lmdb_kv_store`'s underneath: reader slots of dead processes are cleared
/// at open and periodically (`lmdb_options::reader_check_interval`), and in
/// a child forked with the store open every call fails (`apply` with
/// `errc::storage_error` in `last_error()`, reads find nothing).
class lmdb_chain_store final : public chain_store {
public:
  /// Opens (creating if needed) the environment in `directory`, with
  /// `opts.tables` row tables, and reads back what it held.
  static caf::expected<std::unique_ptr<lmdb_chain_store>>
  open(const std::string& directory, lmdb_options opts = {});

  bool apply(const std::vector<chain_entry>& entries) override;

  bool full() const noexcept override;

  bool accepts(const chain_write& write) const override;

  std::optional<std::string> read(uint8_t table,
                                  const std::string& key) const override;

  chain_seq last_applied() const override {
    return last_;
  }

  std::vector<chain_row> rows() const override;

  std::vector<chain_row> scan(uint8_t table,
                              const std::string& prefix) const override;

  void trim(chain_seq seq) override;

  chain_durable_state recover() const override;

  const chain_client_table& clients() const noexcept override {
    return clients_;
  }

  bool restore(const chain_snapshot& snapshot) override;

  /// Why the last `apply` or `restore` failed; none after a success.
  const caf::error& last_error() const noexcept {
    return error_;
  }

  /// Current size of the memory map in bytes.
  size_t map_size() const noexcept {
    return kv_->map_size();
  }

  /// Entries the log holds on disk, trimmed ones not yet erased included:
  /// a transaction's record goes once every entry in it is trimmed.
  size_t log_size() const;

  /// Clears the reader slots of dead processes now; how many it cleared.
  caf::expected<size_t> check_readers() {
    return kv_->check_readers();
  }

  /// Reader slots cleared so far, at open included.
  size_t stale_readers_cleared() const noexcept {
    return kv_->stale_readers_cleared();
  }

  /// Reader slots in use now, by any process, stale ones included.
  size_t readers_in_use() const {
    return kv_->readers_in_use();
  }

  /// Log records that must be erasable before a transaction erases them
  /// (and rewrites the retry-table records changed since the last time);
  /// 1 erases them as soon as they are trimmed.
  void set_trim_records(size_t n) noexcept {
    trim_records_ = n < 1 ? 1 : n;
  }

  /// Whether this process is a fork of the one that opened the store.
  bool forked() const noexcept {
    return kv_->forked();
  }

private:
  lmdb_chain_store(std::unique_ptr<lmdb_kv_store> kv, uint8_t tables);

  caf::error load();

  /// Moves a log of one record per entry, as earlier versions wrote it,
  /// into the log of one record per transaction.
  caf::error migrate_old_log();

  /// How many log records (from the front of `log_records_`) the pending
  /// trim lets the next transaction erase; 0 below `trim_records_`.
  size_t erasable() const;

  /// Adds the erasure of the first `count` log records to `batch`, and the
  /// retry-table records changed since they were last written, as they
  /// are after `entries`.
  void add_trim(write_batch& batch, size_t count,
                const std::vector<chain_entry>& entries) const;

  std::unique_ptr<lmdb_kv_store> kv_;
  uint8_t tables_;
  uint8_t meta_table_;
  uint8_t old_log_table_;
  uint8_t clients_table_;
  uint8_t log_table_;
  chain_seq last_ = 0;
  /// Log entries up to here are erased on disk.
  chain_seq trimmed_ = 0;
  /// Log entries up to here may be erased with the next transaction.
  chain_seq trim_to_ = 0;
  /// The keys (last entries) of the log records on disk, ascending.
  std::deque<chain_seq> log_records_;
  /// The retry table: as on disk up to `clients_at_`, and after that as the
  /// log says.
  chain_client_table clients_;
  /// The retry table on disk holds every entry up to here; the log holds
  /// every later one. The table is rewritten only when log records go,
  /// instead of with every transaction.
  chain_seq clients_at_ = 0;
  /// Clients whose records changed since the table was last written.
  std::set<chain_client_id> dirty_;
  size_t trim_records_ = 32;
  caf::error error_;
};

} // namespace cafray
