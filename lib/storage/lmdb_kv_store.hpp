#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/kv_store.hpp"

// Keeps <lmdb.h> out of every includer.
struct MDB_env;
struct MDB_txn;

namespace cafray {

/// How an `lmdb_kv_store` opens its environment.
struct lmdb_options {
  /// Number of tables, one named LMDB database each.
  uint8_t tables = gcs_table_count;

  /// Map size at open, in bytes. An existing larger data file wins.
  size_t map_size = size_t{64} << 20;

  /// The map doubles on MDB_MAP_FULL up to this many bytes; past it, writes
  /// fail with `errc::gcs_full`.
  size_t max_map_size = size_t{16} << 30;

  /// Whether every commit waits for fsync. Off, a commit survives a crash of
  /// the process but not of the machine.
  bool sync = true;

  /// Reader slots of dead processes are cleared at open and then by the
  /// first write transaction after this much time since the last check;
  /// zero checks before every write transaction. A dead reader's slot pins
  /// the pages it saw, so the map would grow without bound.
  std::chrono::milliseconds reader_check_interval{10000};
};

/// A `kv_store` in one LMDB environment (one directory), one named database
/// per table. Every write transaction begins and commits inside one call, and
/// the environment uses MDB_NOTLS, so calls may come from different threads
/// (as an actor's handlers do) as long as they do not overlap.
///
/// LMDB must not open the same environment twice in one process: destroy a
/// store before opening its directory again.
///
/// No fork with an environment open: LMDB forbids using an environment in a
/// child of the process that opened it (its locks and reader slots belong
/// to the parent). A child that forks anyway, without exec, finds every
/// store it inherited closed to it: each call fails with
/// `errc::storage_error` (a pthread_atfork handler marks them), and
/// destroying one in the child leaves the environment to the parent rather
/// than calling mdb_env_close. A child that execs at once is fine.
class lmdb_kv_store final : public kv_store {
public:
  /// Opens (creating if needed) the environment in `directory`.
  static caf::expected<std::unique_ptr<lmdb_kv_store>>
  open(const std::string& directory, lmdb_options opts = {});

  ~lmdb_kv_store() override;

  lmdb_kv_store(const lmdb_kv_store&) = delete;
  lmdb_kv_store& operator=(const lmdb_kv_store&) = delete;

  uint8_t table_count() const noexcept override;

  caf::error put(uint8_t table, const std::string& key,
                 const std::string& value) override;

  caf::expected<std::string> get(uint8_t table,
                                 const std::string& key) override;

  caf::error erase(uint8_t table, const std::string& key) override;

  caf::expected<std::vector<kv_entry>>
  scan(uint8_t table, const std::string& prefix) override;

  caf::error apply(const write_batch& batch) override;

  /// A write whose bytes its caller keeps alive during `apply`: a put of
  /// `*value`, or an erase without `value`.
  struct write_view {
    uint8_t table = 0;
    std::string_view key;
    const std::string* value = nullptr;
  };

  /// Applies `ops` in one transaction as `apply(write_batch)` does, without
  /// copying every key and value into a batch first (a chain replica's
  /// group commit writes what it already holds).
  caf::error apply(const std::vector<write_view>& ops);

  /// Current size of the memory map in bytes.
  size_t map_size() const noexcept {
    return map_size_;
  }

  /// Whether the map may still grow: below `lmdb_options::max_map_size`.
  bool may_grow() const noexcept {
    return map_size_ < opts_.max_map_size;
  }

  /// Clears the reader slots of dead processes now (mdb_reader_check);
  /// returns how many it cleared.
  caf::expected<size_t> check_readers();

  /// Reader slots cleared so far, at open included.
  size_t stale_readers_cleared() const noexcept {
    return stale_readers_cleared_;
  }

  /// Reader slots in use now, by any process (mdb_reader_list), stale ones
  /// included.
  size_t readers_in_use() const;

  /// Whether this process is a fork of the one that opened the store: then
  /// every call fails.
  bool forked() const noexcept;

  const std::string& directory() const noexcept {
    return directory_;
  }

private:
  lmdb_kv_store(std::string directory, lmdb_options opts);

  caf::error open_env();

  // Runs `fun(txn)` in a fresh write transaction and commits, growing the
  // map and retrying the whole transaction on MDB_MAP_FULL.
  template <class F>
  caf::error write(const char* what, F fun);

  // Begins a read-only transaction, adopting a map grown by another process.
  int begin_read(MDB_txn** txn);

  // Doubles the map up to the maximum; `errc::gcs_full` at the maximum.
  caf::error grow();

  // `errc::storage_error` in a forked child.
  caf::error usable() const;

  // Runs mdb_reader_check if the interval passed since the last check.
  void maybe_check_readers();

  std::string directory_;
  lmdb_options opts_;
  MDB_env* env_ = nullptr;
  std::vector<unsigned> dbis_;
  size_t map_size_ = 0;
  size_t stale_readers_cleared_ = 0;
  std::chrono::steady_clock::time_point next_reader_check_;
  // The process-wide fork count when the store opened.
  uint64_t fork_generation_ = 0;
};

} // namespace cafray
