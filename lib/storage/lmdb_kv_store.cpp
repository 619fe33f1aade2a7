#include "storage/lmdb_kv_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include <lmdb.h>
#include <pthread.h>
#include <unistd.h>

#include "common/error.hpp"

namespace cafray {

namespace {

// The one place where LMDB return codes become caf-ray errors.
caf::error to_error(int rc, const char* what) {
  switch (rc) {
    case MDB_SUCCESS:
      return caf::none;
    case MDB_NOTFOUND:
      return make_error(errc::not_found);
    case MDB_MAP_FULL:
      return make_error(errc::gcs_full, std::string{what});
    default:
      return make_error(errc::storage_error,
                        std::string{what} + ": " + mdb_strerror(rc));
  }
}

MDB_val to_val(const std::string& x) {
  return MDB_val{x.size(), const_cast<char*>(x.data())};
}

std::string to_string(const MDB_val& x) {
  return std::string{static_cast<const char*>(x.mv_data), x.mv_size};
}

// Counts forks of this process in the children: a store opened under an
// older count belongs to an ancestor.
std::atomic<uint64_t> fork_count{0};

void count_fork_in_child() {
  fork_count.fetch_add(1, std::memory_order_relaxed);
}

void install_fork_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr, count_fork_in_child);
  });
}

// Counts the lines of mdb_reader_list that name a reader.
int count_reader(const char* msg, void* ctx) {
  if (std::strncmp(msg, "(no active readers)", 19) != 0
      && std::strstr(msg, "pid") == nullptr)
    ++*static_cast<size_t*>(ctx);
  return 0;
}

size_t round_to_pages(size_t bytes) {
  auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (page == 0)
    page = 4096;
  return std::max(page, (bytes + page - 1) / page * page);
}

} // namespace

lmdb_kv_store::lmdb_kv_store(std::string directory, lmdb_options opts)
  : directory_(std::move(directory)), opts_(opts) {
  opts_.map_size = round_to_pages(opts_.map_size);
  opts_.max_map_size = std::max(opts_.map_size,
                                round_to_pages(opts_.max_map_size));
}

caf::expected<std::unique_ptr<lmdb_kv_store>>
lmdb_kv_store::open(const std::string& directory, lmdb_options opts) {
  if (directory.empty())
    return make_error(errc::storage_error, "empty LMDB directory");
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec)
    return make_error(errc::storage_error,
                      "cannot create " + directory + ": " + ec.message());
  std::unique_ptr<lmdb_kv_store> result{
    new lmdb_kv_store(directory, opts)};
  if (auto err = result->open_env())
    return err;
  return result;
}

caf::error lmdb_kv_store::open_env() {
  install_fork_handler();
  fork_generation_ = fork_count.load(std::memory_order_relaxed);
  if (auto rc = mdb_env_create(&env_); rc != MDB_SUCCESS) {
    env_ = nullptr;
    return to_error(rc, "mdb_env_create");
  }
  if (auto rc = mdb_env_set_maxdbs(env_, opts_.tables); rc != MDB_SUCCESS)
    return to_error(rc, "mdb_env_set_maxdbs");
  if (auto rc = mdb_env_set_mapsize(env_, opts_.map_size); rc != MDB_SUCCESS)
    return to_error(rc, "mdb_env_set_mapsize");
  // MDB_NOTLS: an actor's handlers run on whatever scheduler thread is free,
  // so read transactions must not be bound to a thread.
  // Without fsync, commits write through the map (MDB_WRITEMAP): no write
  // system call per dirty page, and a commit is still in the page cache, so
  // it survives a crash of the process.
  unsigned flags = MDB_NOTLS
                   | (opts_.sync ? 0u
                                 : unsigned{MDB_NOSYNC} | unsigned{MDB_WRITEMAP});
  if (auto rc = mdb_env_open(env_, directory_.c_str(), flags, 0644);
      rc != MDB_SUCCESS)
    return to_error(rc, ("mdb_env_open " + directory_).c_str());
  // A process that died holding a read transaction would otherwise pin old
  // pages forever.
  if (auto cleared = check_readers(); !cleared)
    return cleared.error();
  MDB_envinfo info;
  if (auto rc = mdb_env_info(env_, &info); rc != MDB_SUCCESS)
    return to_error(rc, "mdb_env_info");
  map_size_ = info.me_mapsize;
  // Database handles opened in a committed transaction stay valid for the
  // life of the environment.
  dbis_.resize(opts_.tables);
  return write("open tables", [&](MDB_txn* txn) {
    for (uint8_t i = 0; i < opts_.tables; ++i) {
      auto name = "table-" + std::to_string(i);
      MDB_dbi dbi = 0;
      if (auto rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi);
          rc != MDB_SUCCESS)
        return rc;
      dbis_[i] = dbi;
    }
    return MDB_SUCCESS;
  });
}

lmdb_kv_store::~lmdb_kv_store() {
  // In a forked child the environment is the parent's: leave it alone.
  if (env_ != nullptr && !forked())
    mdb_env_close(env_);
}

bool lmdb_kv_store::forked() const noexcept {
  return fork_generation_ != fork_count.load(std::memory_order_relaxed);
}

caf::error lmdb_kv_store::usable() const {
  if (forked())
    return make_error(errc::storage_error,
                      "the LMDB environment in " + directory_
                        + " was opened before a fork: LMDB forbids using it "
                          "in the child");
  return caf::none;
}

caf::expected<size_t> lmdb_kv_store::check_readers() {
  if (auto err = usable())
    return err;
  int dead = 0;
  if (auto rc = mdb_reader_check(env_, &dead); rc != MDB_SUCCESS)
    return to_error(rc, "mdb_reader_check");
  next_reader_check_ = std::chrono::steady_clock::now()
                       + opts_.reader_check_interval;
  stale_readers_cleared_ += static_cast<size_t>(dead);
  return static_cast<size_t>(dead);
}

size_t lmdb_kv_store::readers_in_use() const {
  size_t result = 0;
  if (env_ != nullptr && !forked())
    mdb_reader_list(env_, count_reader, &result);
  return result;
}

void lmdb_kv_store::maybe_check_readers() {
  if (opts_.reader_check_interval.count() > 0
      && std::chrono::steady_clock::now() < next_reader_check_)
    return;
  // A failed check changes nothing for the write that follows.
  static_cast<void>(check_readers());
}

uint8_t lmdb_kv_store::table_count() const noexcept {
  return opts_.tables;
}

template <class F>
caf::error lmdb_kv_store::write(const char* what, F fun) {
  if (auto err = usable())
    return err;
  maybe_check_readers();
  for (;;) {
    MDB_txn* txn = nullptr;
    auto rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
      // Another process grew the map; adopt its size and try again.
      mdb_env_set_mapsize(env_, 0);
      continue;
    }
    if (rc != MDB_SUCCESS)
      return to_error(rc, what);
    rc = fun(txn);
    if (rc == MDB_SUCCESS)
      rc = mdb_txn_commit(txn); // frees the transaction, even on failure
    else
      mdb_txn_abort(txn);
    if (rc == MDB_MAP_FULL) {
      if (auto err = grow())
        return err;
      continue;
    }
    return to_error(rc, what);
  }
}

caf::error lmdb_kv_store::grow() {
  if (map_size_ >= opts_.max_map_size)
    return make_error(errc::gcs_full,
                      directory_ + " reached " + std::to_string(map_size_)
                        + " bytes");
  auto next = std::min(map_size_ * 2, opts_.max_map_size);
  // Safe here: no transaction of this store is open between calls.
  if (auto rc = mdb_env_set_mapsize(env_, next); rc != MDB_SUCCESS)
    return to_error(rc, "mdb_env_set_mapsize");
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  return caf::none;
}

int lmdb_kv_store::begin_read(MDB_txn** txn) {
  auto rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, txn);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(env_, 0);
    rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, txn);
  }
  return rc;
}

caf::error lmdb_kv_store::put(uint8_t table, const std::string& key,
                              const std::string& value) {
  if (auto err = validate(table, key))
    return err;
  return write("put", [&](MDB_txn* txn) {
    auto k = to_val(key);
    auto v = to_val(value);
    return mdb_put(txn, dbis_[table], &k, &v, 0);
  });
}

caf::expected<std::string> lmdb_kv_store::get(uint8_t table,
                                              const std::string& key) {
  if (auto err = validate(table, key))
    return err;
  if (auto err = usable())
    return err;
  MDB_txn* txn = nullptr;
  if (auto rc = begin_read(&txn); rc != MDB_SUCCESS)
    return to_error(rc, "get");
  auto k = to_val(key);
  MDB_val v;
  auto rc = mdb_get(txn, dbis_[table], &k, &v);
  // The value points into the map: copy it before the transaction ends.
  std::string result;
  if (rc == MDB_SUCCESS)
    result = to_string(v);
  mdb_txn_abort(txn);
  if (rc != MDB_SUCCESS)
    return to_error(rc, "get");
  return result;
}

caf::error lmdb_kv_store::erase(uint8_t table, const std::string& key) {
  if (auto err = validate(table, key))
    return err;
  return write("erase", [&](MDB_txn* txn) {
    auto k = to_val(key);
    return mdb_del(txn, dbis_[table], &k, nullptr);
  });
}

caf::expected<std::vector<kv_entry>>
lmdb_kv_store::scan(uint8_t table, const std::string& prefix) {
  if (auto err = validate_table(table))
    return err;
  if (auto err = usable())
    return err;
  MDB_txn* txn = nullptr;
  if (auto rc = begin_read(&txn); rc != MDB_SUCCESS)
    return to_error(rc, "scan");
  MDB_cursor* cursor = nullptr;
  if (auto rc = mdb_cursor_open(txn, dbis_[table], &cursor);
      rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    return to_error(rc, "scan");
  }
  std::vector<kv_entry> result;
  auto k = to_val(prefix);
  MDB_val v;
  auto rc = mdb_cursor_get(cursor, &k, &v,
                           prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    if (k.mv_size < prefix.size()
        || prefix.compare(0, prefix.size(), static_cast<char*>(k.mv_data),
                          prefix.size())
             != 0)
      break;
    result.push_back(kv_entry{to_string(k), to_string(v)});
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
    return to_error(rc, "scan");
  return result;
}

caf::error lmdb_kv_store::apply(const write_batch& batch) {
  if (auto err = validate(batch))
    return err;
  if (batch.empty())
    return caf::none;
  return write("apply", [&](MDB_txn* txn) {
    for (auto& op : batch.ops()) {
      auto k = to_val(op.key);
      int rc;
      if (op.erase) {
        rc = mdb_del(txn, dbis_[op.table], &k, nullptr);
        if (rc == MDB_NOTFOUND)
          rc = MDB_SUCCESS; // erasing a missing key is no error in a batch
      } else {
        auto v = to_val(op.value);
        rc = mdb_put(txn, dbis_[op.table], &k, &v, 0);
      }
      if (rc != MDB_SUCCESS)
        return rc;
    }
    return MDB_SUCCESS;
  });
}

caf::error lmdb_kv_store::apply(const std::vector<write_view>& ops) {
  for (auto& op : ops) {
    if (auto err = validate_table(op.table))
      return err;
    if (op.key.empty() || op.key.size() > max_key_size)
      return make_error(errc::storage_error,
                        "key size must be 1.." + std::to_string(max_key_size)
                          + " bytes, got " + std::to_string(op.key.size()));
  }
  if (ops.empty())
    return caf::none;
  return write("apply", [&](MDB_txn* txn) {
    for (auto& op : ops) {
      MDB_val k{op.key.size(), const_cast<char*>(op.key.data())};
      int rc;
      if (op.value == nullptr) {
        rc = mdb_del(txn, dbis_[op.table], &k, nullptr);
        if (rc == MDB_NOTFOUND)
          rc = MDB_SUCCESS; // erasing a missing key is no error in a batch
      } else {
        auto v = to_val(*op.value);
        rc = mdb_put(txn, dbis_[op.table], &k, &v, 0);
      }
      if (rc != MDB_SUCCESS)
        return rc;
    }
    return MDB_SUCCESS;
  });
}

} // namespace cafray
