#pragma once

#include <deque>
#include <set>
#include <memory>
#include <optional>
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
/// record per transaction, keyed by its last entry). Every `apply`,
/// `apply_pending` and `restore` is one write transaction, begun and
/// committed inside the call. A full map grows up to
/// `lmdb_options::max_map_size`; past it `apply` fails with `full()` set
/// and `last_error()` holding `errc::gcs_full`.
///
/// Without fsync (`lmdb_options::sync` off; with it, a second transaction
/// would wait for a second flush) and while the map may still grow,
/// `apply` writes the log record only and leaves the rows to
/// `apply_pending`: a replica forwards first and writes the rows after,
/// and with random keys the rows are most of a transaction's cost. The
/// meta data records how far the tables are written (`rows_at`); the log
/// keeps every record past it, and opening the store writes the rows of
/// those records. Reads see pending rows. Once the map cannot grow any
/// more, `apply` writes the rows with the log again, so that a full store
/// refuses a write whole.
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

  bool apply_pending() override;

  size_t pending() const noexcept override {
    return pending_.size();
  }

  /// The tables hold every row up to here; the log the rest.
  chain_seq rows_at() const noexcept {
    return rows_at_;
  }

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

  /// Reads the sequence number meta data key `key` holds into `mark`; one
  /// that is not there yet (written by an earlier version) becomes
  /// `last_`, and is written.
  caf::error load_mark(const std::string& key, chain_seq& mark);

  /// Moves a log of one record per entry, as earlier versions wrote it,
  /// into the log of one record per transaction.
  caf::error migrate_old_log();

  /// Writes `pending_` and the new `rows_at_` as `apply_pending` does, for
  /// the reads (which are const); false if that failed.
  bool write_pending() const;

  /// `rows` (in table and key order, of `table` only and with keys
  /// starting with `prefix` if `table` is set) with the pending rows over
  /// them: what reads return when the pending rows cannot be written.
  void overlay_pending(std::vector<chain_row>& rows,
                       std::optional<uint8_t> table,
                       const std::string& prefix) const;

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
  /// Rows of applied entries not in their tables yet, oldest first: those
  /// of the entries after `rows_at_`. Mutable: reads write them first.
  mutable std::vector<chain_write> pending_;
  bool defer_rows_ = false;
  mutable chain_seq rows_at_ = 0;
  mutable caf::error error_;
};

} // namespace cafray
