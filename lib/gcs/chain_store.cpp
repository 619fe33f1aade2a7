#include "gcs/chain_store.hpp"

namespace cafray {

chain_store::~chain_store() {
  // nop
}

bool memory_chain_store::apply(const std::vector<chain_entry>& entries) {
  if (fail_next_) {
    fail_next_ = false;
    return false;
  }
  for (auto& entry : entries) {
    auto key = std::pair{entry.write.table, entry.write.key};
    if (entry.write.value)
      rows_[std::move(key)] = *entry.write.value;
    else
      rows_.erase(key);
    ++applications_[entry.seq];
    ++requests_[std::pair{entry.client, entry.request}];
    ++total_;
    last_ = entry.seq;
  }
  return true;
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

bool memory_chain_store::restore(const std::vector<chain_row>& rows,
                                 chain_seq seq) {
  rows_.clear();
  for (auto& row : rows)
    rows_[std::pair{row.table, row.key}] = row.value;
  last_ = seq;
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

uint64_t memory_chain_store::digest() const {
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
  mix(&last_, sizeof(last_));
  for (auto& [key, value] : rows_) {
    mix(&key.first, sizeof(key.first));
    mix_string(key.second);
    mix_string(value);
  }
  return hash;
}

} // namespace cafray
