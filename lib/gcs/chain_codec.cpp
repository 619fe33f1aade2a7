#include "gcs/chain_codec.hpp"

#include <cstdint>

namespace cafray {

namespace {

void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

/// Reads from the front of a byte range, failing once past its end.
class byte_reader {
public:
  explicit byte_reader(std::string_view bytes) : bytes_(bytes) {
    // nop
  }

  bool u64(uint64_t& x) {
    if (bytes_.size() < 8)
      return false;
    x = 0;
    for (int i = 0; i < 8; ++i)
      x |= uint64_t{static_cast<unsigned char>(bytes_[i])} << (8 * i);
    bytes_.remove_prefix(8);
    return true;
  }

  bool u8(uint8_t& x) {
    if (bytes_.empty())
      return false;
    x = static_cast<uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return true;
  }

  bool string(std::string& x, size_t size) {
    if (bytes_.size() < size)
      return false;
    x.assign(bytes_.data(), size);
    bytes_.remove_prefix(size);
    return true;
  }

  size_t remaining() const noexcept {
    return bytes_.size();
  }

private:
  std::string_view bytes_;
};

} // namespace

std::string encode_seq_key(chain_seq seq) {
  std::string result(8, '\0');
  for (int i = 0; i < 8; ++i)
    result[i] = static_cast<char>((seq >> (8 * (7 - i))) & 0xff);
  return result;
}

bool decode_seq_key(std::string_view bytes, chain_seq& seq) {
  if (bytes.size() != 8)
    return false;
  seq = 0;
  for (auto c : bytes)
    seq = (seq << 8) | static_cast<unsigned char>(c);
  return true;
}

// Layout: seq, client, request, oldest_pending (u64 each), table, has_value
// (u8 each), key size (u64), key, then the value up to the end.
std::string encode_entry(const chain_entry& entry) {
  std::string result;
  auto& write = entry.write;
  result.reserve(42 + write.key.size() + (write.value ? write.value->size() : 0));
  put_u64(result, entry.seq);
  put_u64(result, entry.client);
  put_u64(result, entry.request);
  put_u64(result, entry.oldest_pending);
  result.push_back(static_cast<char>(write.table));
  result.push_back(write.value ? 1 : 0);
  put_u64(result, write.key.size());
  result += write.key;
  if (write.value)
    result += *write.value;
  return result;
}

bool decode_entry(std::string_view bytes, chain_entry& entry) {
  byte_reader in{bytes};
  uint8_t has_value = 0;
  uint64_t key_size = 0;
  if (!in.u64(entry.seq) || !in.u64(entry.client) || !in.u64(entry.request)
      || !in.u64(entry.oldest_pending) || !in.u8(entry.write.table)
      || !in.u8(has_value) || has_value > 1 || !in.u64(key_size)
      || !in.string(entry.write.key, key_size))
    return false;
  if (has_value == 0) {
    entry.write.value.reset();
    return in.remaining() == 0;
  }
  entry.write.value.emplace();
  return in.string(*entry.write.value, in.remaining());
}

namespace {

/// Writes `x` little-endian at `out`; returns the position after it.
char* store_u64(char* out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((x >> (8 * i)) & 0xff);
  return out + 8;
}

char* store_bytes(char* out, const std::string& x) {
  out = store_u64(out, x.size());
  x.copy(out, x.size());
  return out + x.size();
}

/// Reads an entry as `append_entries` wrote it.
bool read_entry(byte_reader& in, chain_entry& entry) {
  uint8_t has_value = 0;
  uint64_t key_size = 0;
  uint64_t value_size = 0;
  if (!in.u64(entry.seq) || !in.u64(entry.client) || !in.u64(entry.request)
      || !in.u64(entry.oldest_pending) || !in.u8(entry.write.table)
      || !in.u8(has_value) || has_value > 1 || !in.u64(key_size)
      || !in.string(entry.write.key, key_size) || !in.u64(value_size))
    return false;
  if (has_value == 0) {
    entry.write.value.reset();
    return value_size == 0;
  }
  entry.write.value.emplace();
  return in.string(*entry.write.value, value_size);
}

/// Fixed bytes per entry besides key and value.
constexpr size_t entry_overhead = 4 * 8 + 2 + 2 * 8;

} // namespace

void append_entries(std::string& out, const chain_entry* first,
                    size_t count) {
  auto size = size_t{8};
  for (auto x = first; x != first + count; ++x)
    size += entry_overhead + x->write.key.size()
            + (x->write.value ? x->write.value->size() : 0);
  auto offset = out.size();
  out.resize(offset + size);
  auto pos = store_u64(out.data() + offset, count);
  for (auto x = first; x != first + count; ++x) {
    pos = store_u64(pos, x->seq);
    pos = store_u64(pos, x->client);
    pos = store_u64(pos, x->request);
    pos = store_u64(pos, x->oldest_pending);
    *pos++ = static_cast<char>(x->write.table);
    *pos++ = x->write.value ? 1 : 0;
    pos = store_bytes(pos, x->write.key);
    if (x->write.value)
      pos = store_bytes(pos, *x->write.value);
    else
      pos = store_u64(pos, 0);
  }
}

std::string encode_entries(const std::vector<chain_entry>& entries) {
  std::string result;
  append_entries(result, entries.data(), entries.size());
  return result;
}

bool decode_entries(std::string_view bytes, std::vector<chain_entry>& out) {
  byte_reader in{bytes};
  uint64_t count = 0;
  // Every entry takes at least entry_overhead bytes: a corrupt count cannot
  // make us reserve more than the input justifies.
  if (!in.u64(count) || count > in.remaining() / entry_overhead)
    return false;
  auto old_size = out.size();
  out.reserve(old_size + count);
  for (uint64_t i = 0; i < count; ++i)
    if (!read_entry(in, out.emplace_back())) {
      out.resize(old_size);
      return false;
    }
  if (in.remaining() != 0) {
    out.resize(old_size);
    return false;
  }
  return true;
}

bool count_entries(std::string_view bytes, size_t& count) {
  byte_reader in{bytes};
  uint64_t n = 0;
  if (!in.u64(n) || n > in.remaining() / entry_overhead)
    return false;
  count = n;
  return true;
}

namespace {

/// Fixed bytes per write of a request block besides key and value.
constexpr size_t request_overhead = 2 * 8 + 2 + 2 * 8;

bool read_request(byte_reader& in, chain_write_request& x) {
  uint8_t has_value = 0;
  uint64_t key_size = 0;
  uint64_t value_size = 0;
  if (!in.u64(x.request) || !in.u64(x.oldest_pending) || !in.u8(x.write.table)
      || !in.u8(has_value) || has_value > 1 || !in.u64(key_size)
      || !in.string(x.write.key, key_size) || !in.u64(value_size))
    return false;
  if (has_value == 0) {
    x.write.value.reset();
    return value_size == 0;
  }
  x.write.value.emplace();
  return in.string(*x.write.value, value_size);
}

} // namespace

request_block::request_block() : bytes_(8, '\0') {
  // The count goes in front once known.
}

void request_block::add(uint64_t request, uint64_t oldest_pending,
                        uint8_t table, std::string_view key,
                        const std::string* value) {
  auto value_size = value != nullptr ? value->size() : 0;
  auto offset = bytes_.size();
  bytes_.resize(offset + request_overhead + key.size() + value_size);
  auto pos = store_u64(bytes_.data() + offset, request);
  pos = store_u64(pos, oldest_pending);
  *pos++ = static_cast<char>(table);
  *pos++ = value != nullptr ? 1 : 0;
  pos = store_u64(pos, key.size());
  key.copy(pos, key.size());
  pos += key.size();
  pos = store_u64(pos, value_size);
  if (value != nullptr)
    value->copy(pos, value_size);
  ++count_;
}

std::string request_block::finish() {
  store_u64(bytes_.data(), count_);
  auto result = std::move(bytes_);
  bytes_.assign(8, '\0');
  count_ = 0;
  return result;
}

bool decode_requests(std::string_view bytes, chain_epoch epoch,
                     std::vector<chain_write_request>& out) {
  byte_reader in{bytes};
  uint64_t count = 0;
  if (!in.u64(count) || count > in.remaining() / request_overhead)
    return false;
  auto old_size = out.size();
  out.reserve(old_size + count);
  for (uint64_t i = 0; i < count; ++i) {
    auto& x = out.emplace_back();
    x.epoch = epoch;
    if (!read_request(in, x)) {
      out.resize(old_size);
      return false;
    }
  }
  if (in.remaining() != 0) {
    out.resize(old_size);
    return false;
  }
  return true;
}

// Layout: oldest_pending, number of requests, then (request, seq) pairs;
// u64 each.
std::string encode_client_record(const chain_client_record& record) {
  std::string result;
  result.reserve(16 + 16 * record.applied.size());
  put_u64(result, record.oldest_pending);
  put_u64(result, record.applied.size());
  for (auto& [request, seq] : record.applied) {
    put_u64(result, request);
    put_u64(result, seq);
  }
  return result;
}

bool decode_client_record(std::string_view bytes,
                          chain_client_record& record) {
  byte_reader in{bytes};
  uint64_t count = 0;
  if (!in.u64(record.oldest_pending) || !in.u64(count)
      || count != in.remaining() / 16 || in.remaining() % 16 != 0)
    return false;
  record.applied.clear();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t request = 0;
    uint64_t seq = 0;
    in.u64(request);
    in.u64(seq);
    record.applied.emplace_hint(record.applied.end(), request, seq);
  }
  return true;
}

} // namespace cafray
