#include "gcs/pending_writes.hpp"

namespace cafray {

pending_writes::pending_writes(uint8_t tables) : tables_(tables) {
  // nop
}

void pending_writes::put(uint8_t table, std::string key, std::string value) {
  tables_[table][std::move(key)] = std::move(value);
  ++writes_;
}

void pending_writes::erase(uint8_t table, std::string key) {
  tables_[table][std::move(key)] = std::nullopt;
  ++writes_;
}

pending_writes::lookup_result
pending_writes::lookup(uint8_t table, const std::string& key,
                       const std::string*& value) const {
  auto& rows = tables_[table];
  auto i = rows.find(key);
  if (i == rows.end())
    return lookup_result::unknown;
  if (!i->second)
    return lookup_result::erased;
  value = &*i->second;
  return lookup_result::written;
}

void pending_writes::overlay(uint8_t table, const std::string& prefix,
                             std::vector<kv_entry>& rows) const {
  auto& pending = tables_[table];
  auto first = pending.lower_bound(prefix);
  auto has_prefix = [&](const std::string& key) {
    return key.compare(0, prefix.size(), prefix) == 0;
  };
  if (first == pending.end() || !has_prefix(first->first))
    return; // the common case: nothing pending under this prefix
  // Merge two sorted sequences; a pending write wins over the stored row.
  std::vector<kv_entry> merged;
  merged.reserve(rows.size());
  auto i = rows.begin();
  for (auto j = first; j != pending.end() && has_prefix(j->first); ++j) {
    for (; i != rows.end() && i->key < j->first; ++i)
      merged.push_back(std::move(*i));
    if (i != rows.end() && i->key == j->first)
      ++i;
    if (j->second)
      merged.push_back(kv_entry{j->first, *j->second});
  }
  for (; i != rows.end(); ++i)
    merged.push_back(std::move(*i));
  rows = std::move(merged);
}

write_batch pending_writes::take() {
  write_batch result;
  for (size_t table = 0; table < tables_.size(); ++table) {
    for (auto& [key, value] : tables_[table]) {
      auto t = static_cast<uint8_t>(table);
      if (value)
        result.put(t, key, std::move(*value));
      else
        result.erase(t, key);
    }
  }
  clear();
  return result;
}

void pending_writes::clear() {
  for (auto& rows : tables_)
    rows.clear();
  writes_ = 0;
}

} // namespace cafray
