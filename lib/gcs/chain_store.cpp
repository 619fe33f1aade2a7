#include "gcs/chain_store.hpp"

namespace cafray {

chain_store::~chain_store() {
  // nop
}

bool chain_store::apply_pending() {
  return true;
}

size_t chain_store::pending() const noexcept {
  return 0;
}

uint64_t chain_store::digest() const {
  return chain_digest(rows(), last_applied());
}

std::vector<chain_row> chain_store::scan(uint8_t table,
                                         const std::string& prefix) const {
  std::vector<chain_row> result;
  for (auto& row : rows())
    if (row.table == table && row.key.compare(0, prefix.size(), prefix) == 0)
      result.push_back(std::move(row));
  return result;
}

uint64_t chain_digest(const std::vector<chain_row>& rows, chain_seq seq) {
  // FNV-1a over length-prefixed fields, so that no two row sets collide by
  // concatenation.
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](const void* data, size_t size) {
    auto bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash ^= bytes[i];
      hash *= 1099511628211ull;
    }
  };
  auto mix_string = [&mix](const std::string& str) {
    uint64_t size = str.size();
    mix(&size, sizeof(size));
    mix(str.data(), str.size());
  };
  mix(&seq, sizeof(seq));
  for (auto& row : rows) {
    mix(&row.table, sizeof(row.table));
    mix_string(row.key);
    mix_string(row.value);
  }
  return hash;
}

bool memory_chain_store::apply_pending() {
  if (!fail_rows_)
    return true;
  fail_rows_ = false;
  return false;
}

bool memory_chain_store::apply(const std::vector<chain_entry>& entries) {
  full_ = false;
  if (fail_next_) {
    fail_next_ = false;
    full_ = fail_full_;
    return false;
  }
  ++transactions_;
  for (auto& entry : entries) {
    auto key = std::pair{entry.write.table, entry.write.key};
    if (entry.write.value)
      rows_[std::move(key)] = *entry.write.value;
    else
      rows_.erase(key);
    ++applications_[entry.seq];
    ++requests_[std::pair{entry.client, entry.request}];
    ++total_;
    log_.emplace_hint(log_.end(), entry.seq, entry);
    remember_request(clients_, entry);
    last_ = entry.seq;
  }
  return true;
}

bool memory_chain_store::accepts(const chain_write& write) const {
  return write.key.size() <= max_key_size_;
}

std::optional<std::string>
memory_chain_store::read(uint8_t table, const std::string& key) const {
  auto i = rows_.find(std::pair{table, key});
  if (i == rows_.end())
    return std::nullopt;
  return i->second;
}

std::vector<chain_row> memory_chain_store::rows() const {
  std::vector<chain_row> result;
  result.reserve(rows_.size());
  for (auto& [key, value] : rows_)
    result.push_back(chain_row{key.first, key.second, value});
  return result;
}

void memory_chain_store::trim(chain_seq seq) {
  if (seq <= trimmed_)
    return;
  trimmed_ = seq;
  log_.erase(log_.begin(), log_.upper_bound(seq));
}

chain_durable_state memory_chain_store::recover() const {
  chain_durable_state result;
  result.trimmed = trimmed_;
  for (auto& [seq, entry] : log_)
    result.log.push_back(entry);
  result.clients = clients_;
  return result;
}

bool memory_chain_store::restore(const chain_snapshot& snapshot) {
  rows_.clear();
  for (auto& row : snapshot.rows)
    rows_[std::pair{row.table, row.key}] = row.value;
  log_.clear();
  clients_ = snapshot.clients;
  last_ = snapshot.seq;
  trimmed_ = snapshot.seq;
  return true;
}

size_t memory_chain_store::applications(chain_seq seq) const {
  auto i = applications_.find(seq);
  return i == applications_.end() ? 0 : i->second;
}

size_t memory_chain_store::applications(chain_client_id client,
                                        uint64_t request) const {
  auto i = requests_.find(std::pair{client, request});
  return i == requests_.end() ? 0 : i->second;
}

} // namespace cafray
