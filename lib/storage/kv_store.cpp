#include "storage/kv_store.hpp"

#include "common/error.hpp"

namespace cafray {

void write_batch::put(uint8_t table, std::string key, std::string value) {
  bytes_ += key.size() + value.size();
  ops_.push_back(write_op{table, false, std::move(key), std::move(value)});
}

void write_batch::erase(uint8_t table, std::string key) {
  bytes_ += key.size();
  ops_.push_back(write_op{table, true, std::move(key), std::string{}});
}

void write_batch::clear() noexcept {
  ops_.clear();
  bytes_ = 0;
}

kv_store::~kv_store() {
  // nop
}

caf::error kv_store::validate_table(uint8_t table) const {
  if (table >= table_count())
    return make_error(errc::storage_error,
                      "no such table: " + std::to_string(table));
  return caf::none;
}

caf::error kv_store::validate(uint8_t table, const std::string& key) const {
  if (auto err = validate_table(table))
    return err;
  // LMDB rejects empty keys and keys above its compile-time limit.
  if (key.empty() || key.size() > max_key_size)
    return make_error(errc::storage_error,
                      "key size must be 1.." + std::to_string(max_key_size)
                        + " bytes, got " + std::to_string(key.size()));
  return caf::none;
}

caf::error kv_store::validate(const write_batch& batch) const {
  for (auto& op : batch.ops())
    if (auto err = validate(op.table, op.key))
      return err;
  return caf::none;
}

} // namespace cafray
