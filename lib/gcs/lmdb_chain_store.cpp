#include "gcs/lmdb_chain_store.hpp"

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "gcs/chain_codec.hpp"

namespace cafray {

namespace {

const std::string last_key = "last";
const std::string trimmed_key = "trimmed";
const std::string clients_at_key = "clients_at";
const std::string rows_at_key = "rows_at";

/// Adds the row `write` puts or erases to `ops`, without copying it.
void add_row(std::vector<lmdb_kv_store::write_view>& ops,
             const chain_write& write) {
  ops.push_back({write.table, write.key,
                 write.value ? &*write.value : nullptr});
}

/// LMDB's maximum number of named databases leaves room for this many row
/// tables next to the store's own four.
constexpr uint8_t max_row_tables = 250;

caf::expected<chain_seq> read_seq(lmdb_kv_store& kv, uint8_t table,
                                  const std::string& key) {
  auto bytes = kv.get(table, key);
  if (!bytes) {
    if (code_of(bytes.error()) == errc::not_found)
      return chain_seq{0};
    return bytes.error();
  }
  chain_seq result = 0;
  if (!decode_seq_key(*bytes, result))
    return make_error(errc::storage_error, "corrupt chain meta data: " + key);
  return result;
}

} // namespace

lmdb_chain_store::lmdb_chain_store(std::unique_ptr<lmdb_kv_store> kv,
                                   uint8_t tables)
  : kv_(std::move(kv)),
    tables_(tables),
    meta_table_(tables),
    old_log_table_(tables + 1),
    clients_table_(tables + 2),
    log_table_(tables + 3) {
  // nop
}

caf::expected<std::unique_ptr<lmdb_chain_store>>
lmdb_chain_store::open(const std::string& directory, lmdb_options opts) {
  if (opts.tables == 0 || opts.tables > max_row_tables)
    return make_error(errc::invalid_config,
                      "a chain store holds 1.." + std::to_string(max_row_tables)
                        + " tables");
  auto tables = opts.tables;
  opts.tables = tables + 4;
  auto kv = lmdb_kv_store::open(directory, opts);
  if (!kv)
    return kv.error();
  std::unique_ptr<lmdb_chain_store> result{
    new lmdb_chain_store(std::move(*kv), tables)};
  // With fsync, a second transaction would cost a second flush.
  result->defer_rows_ = !opts.sync;
  if (auto err = result->load())
    return err;
  return result;
}

caf::error lmdb_chain_store::load() {
  auto last = read_seq(*kv_, meta_table_, last_key);
  if (!last)
    return last.error();
  auto trimmed = read_seq(*kv_, meta_table_, trimmed_key);
  if (!trimmed)
    return trimmed.error();
  last_ = *last;
  trimmed_ = trim_to_ = *trimmed;
  auto records = kv_->scan(clients_table_, "");
  if (!records)
    return records.error();
  for (auto& [key, value] : *records) {
    chain_client_id client = 0;
    chain_client_record record;
    if (!decode_seq_key(key, client) || !decode_client_record(value, record))
      return make_error(errc::storage_error, "corrupt retry table");
    clients_.emplace(client, std::move(record));
  }
  // Directories of earlier versions rewrote the table with every
  // transaction, and wrote the rows with the log: without its key, each
  // holds everything applied.
  if (auto err = load_mark(clients_at_key, clients_at_))
    return err;
  if (auto err = load_mark(rows_at_key, rows_at_))
    return err;
  if (auto err = migrate_old_log())
    return err;
  auto log = kv_->scan(log_table_, "");
  if (!log)
    return log.error();
  std::vector<chain_entry> entries;
  std::vector<chain_write> unwritten;
  for (auto& [key, value] : *log) {
    chain_seq seq = 0;
    if (!decode_seq_key(key, seq))
      return make_error(errc::storage_error, "corrupt chain log key");
    log_records_.push_back(seq);
    // The log brings the retry table and the row tables up to date.
    if (seq <= clients_at_ && seq <= rows_at_)
      continue;
    entries.clear();
    if (!decode_entries(value, entries))
      return make_error(errc::storage_error, "corrupt chain log record");
    for (auto& entry : entries) {
      if (entry.seq > last_)
        continue;
      if (entry.seq > clients_at_) {
        remember_request(clients_, entry);
        dirty_.insert(entry.client);
      }
      if (entry.seq > rows_at_)
        unwritten.push_back(std::move(entry.write));
    }
  }
  // Rows a process left unwritten when it stopped.
  pending_ = std::move(unwritten);
  if (!write_pending())
    return error_;
  return caf::none;
}

caf::error lmdb_chain_store::load_mark(const std::string& key,
                                       chain_seq& mark) {
  auto bytes = kv_->get(meta_table_, key);
  if (bytes) {
    if (!decode_seq_key(*bytes, mark))
      return make_error(errc::storage_error, "corrupt chain meta data: " + key);
    return caf::none;
  }
  if (code_of(bytes.error()) != errc::not_found)
    return bytes.error();
  mark = last_;
  write_batch batch;
  batch.put(meta_table_, key, encode_seq_key(mark));
  return kv_->apply(batch);
}

caf::error lmdb_chain_store::migrate_old_log() {
  // Directories written before the log went per transaction hold one record
  // per entry in their own table: they become one record of the new log.
  auto old = kv_->scan(old_log_table_, "");
  if (!old)
    return old.error();
  if (old->empty())
    return caf::none;
  std::vector<chain_entry> entries;
  write_batch batch;
  for (auto& [key, value] : *old) {
    chain_entry entry;
    if (!decode_entry(value, entry))
      return make_error(errc::storage_error, "corrupt chain log entry");
    if (entry.seq > trimmed_ && entry.seq <= last_)
      entries.push_back(std::move(entry));
    batch.erase(old_log_table_, key);
  }
  chain_seq record = 0;
  if (!entries.empty()) {
    record = entries.back().seq;
    batch.put(log_table_, encode_seq_key(record), encode_entries(entries));
  }
  return kv_->apply(batch);
}

bool lmdb_chain_store::apply(const std::vector<chain_entry>& entries) {
  error_ = caf::none;
  if (entries.empty())
    return true;
  // The rows are written from the entries themselves, not copied into a
  // write_batch first; while the map may grow, only later.
  auto defer = defer_rows_ && kv_->may_grow();
  std::vector<lmdb_kv_store::write_view> ops;
  ops.reserve(entries.size() + pending_.size() + 3);
  if (!defer) {
    for (auto& write : pending_)
      add_row(ops, write);
    for (auto& entry : entries)
      add_row(ops, entry.write);
  }
  // The whole transaction is one log record, keyed by its last entry: one
  // put now and one erase once the chain acknowledged all of it, instead
  // of both per write.
  auto newest = entries.back().seq;
  auto newest_key = encode_seq_key(newest);
  auto record = encode_entries(entries);
  ops.push_back({log_table_, newest_key, &record});
  ops.push_back({meta_table_, last_key, &newest_key});
  if (!defer)
    ops.push_back({meta_table_, rows_at_key, &newest_key});
  auto erased = erasable();
  write_batch trim;
  if (erased > 0) {
    add_trim(trim, erased, entries);
    for (auto& op : trim.ops())
      ops.push_back({op.table, op.key, op.erase ? nullptr : &op.value});
  }
  if (auto err = kv_->apply(ops)) {
    error_ = std::move(err);
    return false;
  }
  if (defer) {
    for (auto& entry : entries)
      pending_.push_back(entry.write);
  } else {
    pending_.clear();
    rows_at_ = newest;
  }
  // The cache learns the retry table only once the transaction committed.
  for (auto& entry : entries) {
    remember_request(clients_, entry);
    dirty_.insert(entry.client);
  }
  last_ = newest;
  if (erased > 0) {
    trimmed_ = trim_to_;
    clients_at_ = newest;
    dirty_.clear();
    log_records_.erase(log_records_.begin(), log_records_.begin() + erased);
  }
  log_records_.push_back(newest);
  return true;
}

bool lmdb_chain_store::apply_pending() {
  return write_pending();
}

bool lmdb_chain_store::write_pending() const {
  if (pending_.empty() && rows_at_ >= last_)
    return true;
  std::vector<lmdb_kv_store::write_view> ops;
  ops.reserve(pending_.size() + 1);
  for (auto& write : pending_)
    add_row(ops, write);
  auto upto = encode_seq_key(last_);
  ops.push_back({meta_table_, rows_at_key, &upto});
  if (auto err = kv_->apply(ops)) {
    error_ = std::move(err);
    return false;
  }
  error_ = caf::none;
  pending_.clear();
  rows_at_ = last_;
  return true;
}

void lmdb_chain_store::overlay_pending(std::vector<chain_row>& rows,
                                       std::optional<uint8_t> table,
                                       const std::string& prefix) const {
  std::map<std::pair<uint8_t, std::string>, std::optional<std::string>> all;
  for (auto& row : rows)
    all[{row.table, std::move(row.key)}] = std::move(row.value);
  for (auto& write : pending_)
    if (!table
        || (write.table == *table
            && write.key.compare(0, prefix.size(), prefix) == 0))
      all[{write.table, write.key}] = write.value;
  rows.clear();
  for (auto& [key, value] : all)
    if (value)
      rows.push_back(chain_row{key.first, key.second, std::move(*value)});
}

size_t lmdb_chain_store::erasable() const {
  // A record goes once every entry in it is trimmed and in its table;
  // `recover` skips the trimmed entries of the records that stay.
  auto upto = std::min(trim_to_, rows_at_);
  size_t result = 0;
  while (result < log_records_.size() && log_records_[result] <= upto)
    ++result;
  return result >= trim_records_ ? result : 0;
}

void lmdb_chain_store::add_trim(write_batch& batch, size_t count,
                                const std::vector<chain_entry>& entries) const {
  for (size_t i = 0; i < count; ++i)
    batch.erase(log_table_, encode_seq_key(log_records_[i]));
  batch.put(meta_table_, trimmed_key, encode_seq_key(trim_to_));
  // The log no longer holds what the erased records held: the table on disk
  // must, up to the newest entry of this transaction.
  chain_client_table changed;
  auto take = [&](chain_client_id client) {
    if (changed.count(client) > 0)
      return;
    auto i = clients_.find(client);
    changed[client] = i != clients_.end() ? i->second : chain_client_record{};
  };
  for (auto client : dirty_)
    take(client);
  for (auto& entry : entries) {
    take(entry.client);
    remember_request(changed, entry);
  }
  for (auto& [client, record] : changed)
    batch.put(clients_table_, encode_seq_key(client),
              encode_client_record(record));
  batch.put(meta_table_, clients_at_key, encode_seq_key(entries.back().seq));
}

bool lmdb_chain_store::full() const noexcept {
  return code_of(error_) == errc::gcs_full;
}

bool lmdb_chain_store::accepts(const chain_write& write) const {
  return write.table < tables_ && !write.key.empty()
         && write.key.size() <= max_key_size;
}

std::optional<std::string>
lmdb_chain_store::read(uint8_t table, const std::string& key) const {
  if (table >= tables_)
    return std::nullopt;
  // A forked child finds nothing, pending rows included.
  if (kv_->forked())
    return std::nullopt;
  for (auto i = pending_.rbegin(); i != pending_.rend(); ++i)
    if (i->table == table && i->key == key)
      return i->value;
  auto value = kv_->get(table, key);
  if (!value)
    return std::nullopt;
  return std::move(*value);
}

std::vector<chain_row> lmdb_chain_store::rows() const {
  auto written = write_pending();
  std::vector<chain_row> result;
  for (uint8_t table = 0; table < tables_; ++table) {
    auto entries = kv_->scan(table, "");
    if (!entries)
      continue;
    for (auto& [key, value] : *entries)
      result.push_back(chain_row{table, std::move(key), std::move(value)});
  }
  if (!written)
    overlay_pending(result, std::nullopt, "");
  return result;
}

std::vector<chain_row> lmdb_chain_store::scan(uint8_t table,
                                              const std::string& prefix) const {
  std::vector<chain_row> result;
  if (table >= tables_)
    return result;
  auto written = write_pending();
  auto entries = kv_->scan(table, prefix);
  if (entries)
    for (auto& [key, value] : *entries)
      result.push_back(chain_row{table, std::move(key), std::move(value)});
  if (!written)
    overlay_pending(result, table, prefix);
  return result;
}

void lmdb_chain_store::trim(chain_seq seq) {
  trim_to_ = std::max(trim_to_, std::min(seq, last_));
}

chain_durable_state lmdb_chain_store::recover() const {
  chain_durable_state result;
  result.trimmed = trimmed_;
  result.clients = clients_;
  auto records = kv_->scan(log_table_, "");
  if (!records)
    return result;
  std::vector<chain_entry> entries;
  for (auto& [key, value] : *records) {
    entries.clear();
    if (!decode_entries(value, entries))
      continue;
    for (auto& entry : entries)
      if (entry.seq > trimmed_)
        result.log.push_back(std::move(entry));
  }
  return result;
}

size_t lmdb_chain_store::log_size() const {
  auto records = kv_->scan(log_table_, "");
  size_t result = 0;
  if (records)
    for (auto& [key, value] : *records) {
      size_t count = 0;
      if (count_entries(value, count))
        result += count;
    }
  return result;
}

bool lmdb_chain_store::restore(const chain_snapshot& snapshot) {
  error_ = caf::none;
  write_batch batch;
  // Everything goes, in the same transaction that writes the snapshot.
  for (uint8_t table = 0; table < kv_->table_count(); ++table) {
    auto entries = kv_->scan(table, "");
    if (!entries) {
      error_ = entries.error();
      return false;
    }
    for (auto& entry : *entries)
      batch.erase(table, std::move(entry.key));
  }
  for (auto& row : snapshot.rows)
    batch.put(row.table, row.key, row.value);
  for (auto& [client, record] : snapshot.clients)
    batch.put(clients_table_, encode_seq_key(client),
              encode_client_record(record));
  batch.put(meta_table_, last_key, encode_seq_key(snapshot.seq));
  batch.put(meta_table_, trimmed_key, encode_seq_key(snapshot.seq));
  batch.put(meta_table_, clients_at_key, encode_seq_key(snapshot.seq));
  batch.put(meta_table_, rows_at_key, encode_seq_key(snapshot.seq));
  if (auto err = kv_->apply(batch)) {
    error_ = std::move(err);
    return false;
  }
  pending_.clear();
  last_ = trimmed_ = trim_to_ = clients_at_ = rows_at_ = snapshot.seq;
  log_records_.clear();
  clients_ = snapshot.clients;
  dirty_.clear();
  return true;
}

} // namespace cafray
