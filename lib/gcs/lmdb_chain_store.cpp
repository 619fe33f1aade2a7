#include "gcs/lmdb_chain_store.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "gcs/chain_codec.hpp"

namespace cafray {

namespace {

const std::string last_key = "last";
const std::string trimmed_key = "trimmed";

/// LMDB's maximum number of named databases leaves room for this many row
/// tables next to the store's own three.
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
    log_table_(tables + 1),
    clients_table_(tables + 2) {
  // nop
}

caf::expected<std::unique_ptr<lmdb_chain_store>>
lmdb_chain_store::open(const std::string& directory, lmdb_options opts) {
  if (opts.tables == 0 || opts.tables > max_row_tables)
    return make_error(errc::invalid_config,
                      "a chain store holds 1.." + std::to_string(max_row_tables)
                        + " tables");
  auto tables = opts.tables;
  opts.tables = tables + 3;
  auto kv = lmdb_kv_store::open(directory, opts);
  if (!kv)
    return kv.error();
  std::unique_ptr<lmdb_chain_store> result{
    new lmdb_chain_store(std::move(*kv), tables)};
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
  return caf::none;
}

bool lmdb_chain_store::apply(const std::vector<chain_entry>& entries) {
  error_ = caf::none;
  if (entries.empty())
    return true;
  write_batch batch;
  // The records this batch changes, written whole; the cache learns them
  // only once the transaction committed.
  chain_client_table touched;
  for (auto& entry : entries) {
    auto& write = entry.write;
    if (write.value)
      batch.put(write.table, write.key, *write.value);
    else
      batch.erase(write.table, write.key);
    batch.put(log_table_, encode_seq_key(entry.seq), encode_entry(entry));
    if (touched.count(entry.client) == 0) {
      auto i = clients_.find(entry.client);
      touched[entry.client]
        = i != clients_.end() ? i->second : chain_client_record{};
    }
    remember_request(touched, entry);
  }
  for (auto& [client, record] : touched)
    batch.put(clients_table_, encode_seq_key(client),
              encode_client_record(record));
  batch.put(meta_table_, last_key, encode_seq_key(entries.back().seq));
  add_trim(batch);
  if (auto err = kv_->apply(batch)) {
    error_ = std::move(err);
    return false;
  }
  last_ = entries.back().seq;
  trimmed_ = trim_to_;
  for (auto& [client, record] : touched)
    clients_[client] = std::move(record);
  return true;
}

void lmdb_chain_store::add_trim(write_batch& batch) const {
  if (trim_to_ <= trimmed_)
    return;
  for (auto seq = trimmed_ + 1; seq <= trim_to_; ++seq)
    batch.erase(log_table_, encode_seq_key(seq));
  batch.put(meta_table_, trimmed_key, encode_seq_key(trim_to_));
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
  auto value = kv_->get(table, key);
  if (!value)
    return std::nullopt;
  return std::move(*value);
}

std::vector<chain_row> lmdb_chain_store::rows() const {
  std::vector<chain_row> result;
  for (uint8_t table = 0; table < tables_; ++table) {
    auto entries = kv_->scan(table, "");
    if (!entries)
      continue;
    for (auto& [key, value] : *entries)
      result.push_back(chain_row{table, std::move(key), std::move(value)});
  }
  return result;
}

std::vector<chain_row> lmdb_chain_store::scan(uint8_t table,
                                              const std::string& prefix) const {
  std::vector<chain_row> result;
  if (table >= tables_)
    return result;
  auto entries = kv_->scan(table, prefix);
  if (!entries)
    return result;
  for (auto& [key, value] : *entries)
    result.push_back(chain_row{table, std::move(key), std::move(value)});
  return result;
}

void lmdb_chain_store::trim(chain_seq seq) {
  trim_to_ = std::max(trim_to_, std::min(seq, last_));
}

chain_durable_state lmdb_chain_store::recover() const {
  chain_durable_state result;
  result.trimmed = trimmed_;
  result.clients = clients_;
  auto entries = kv_->scan(log_table_, "");
  if (!entries)
    return result;
  for (auto& [key, value] : *entries) {
    chain_entry entry;
    if (decode_entry(value, entry) && entry.seq > trimmed_)
      result.log.push_back(std::move(entry));
  }
  return result;
}

size_t lmdb_chain_store::log_size() const {
  auto entries = kv_->scan(log_table_, "");
  return entries ? entries->size() : 0;
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
  if (auto err = kv_->apply(batch)) {
    error_ = std::move(err);
    return false;
  }
  last_ = trimmed_ = trim_to_ = snapshot.seq;
  clients_ = snapshot.clients;
  return true;
}

} // namespace cafray
