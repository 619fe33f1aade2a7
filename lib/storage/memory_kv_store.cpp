#include "storage/memory_kv_store.hpp"

#include "common/error.hpp"

namespace cafray {

memory_kv_store::memory_kv_store(uint8_t tables) : tables_(tables) {
  // nop
}

uint8_t memory_kv_store::table_count() const noexcept {
  return static_cast<uint8_t>(tables_.size());
}

caf::error memory_kv_store::put(uint8_t table, const std::string& key,
                                const std::string& value) {
  if (auto err = validate(table, key))
    return err;
  tables_[table][key] = value;
  return caf::none;
}

caf::expected<std::string> memory_kv_store::get(uint8_t table,
                                                const std::string& key) {
  if (auto err = validate(table, key))
    return err;
  auto& rows = tables_[table];
  auto i = rows.find(key);
  if (i == rows.end())
    return make_error(errc::not_found);
  return i->second;
}

caf::error memory_kv_store::erase(uint8_t table, const std::string& key) {
  if (auto err = validate(table, key))
    return err;
  if (tables_[table].erase(key) == 0)
    return make_error(errc::not_found);
  return caf::none;
}

caf::expected<std::vector<kv_entry>>
memory_kv_store::scan(uint8_t table, const std::string& prefix) {
  if (auto err = validate_table(table))
    return err;
  std::vector<kv_entry> result;
  auto& rows = tables_[table];
  for (auto i = rows.lower_bound(prefix);
       i != rows.end() && i->first.compare(0, prefix.size(), prefix) == 0; ++i)
    result.push_back(kv_entry{i->first, i->second});
  return result;
}

caf::error memory_kv_store::apply(const write_batch& batch) {
  // Validating everything first makes the batch all-or-nothing: nothing below
  // can fail halfway (short of running out of memory).
  if (auto err = validate(batch))
    return err;
  for (auto& op : batch.ops()) {
    if (op.erase)
      tables_[op.table].erase(op.key);
    else
      tables_[op.table][op.key] = op.value;
  }
  return caf::none;
}

} // namespace cafray
