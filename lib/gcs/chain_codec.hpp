#pragma once

// Bytes for what a chain replica keeps on disk besides its rows: log entries
// and retry-table records. A fixed little-endian layout, so that a data
// directory reads the same whatever built it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gcs/chain.hpp"

namespace cafray {

/// A sequence number as an 8-byte big-endian key: keys sort by number.
std::string encode_seq_key(chain_seq seq);

/// Reads what `encode_seq_key` wrote; false for anything else.
bool decode_seq_key(std::string_view bytes, chain_seq& seq);

/// A log entry, write included.
std::string encode_entry(const chain_entry& entry);

/// Reads what `encode_entry` wrote; false for anything else.
bool decode_entry(std::string_view bytes, chain_entry& entry);

/// Appends `count` entries from `first` to `out`: a log record of one
/// transaction, and the block a replica forwards to its successor. Layout:
/// the number of entries (u64), then per entry seq, client, request,
/// oldest_pending (u64 each), table, has_value (u8 each), key size (u64),
/// key, value size (u64), value.
void append_entries(std::string& out, const chain_entry* first, size_t count);

/// `entries` as `append_entries` writes them.
std::string encode_entries(const std::vector<chain_entry>& entries);

/// Appends the entries `append_entries` wrote to `out`; false, with `out`
/// as it was, for anything else.
bool decode_entries(std::string_view bytes, std::vector<chain_entry>& out);

/// The number of entries in what `append_entries` wrote, without decoding
/// them; false for anything that is not such a block.
bool count_entries(std::string_view bytes, size_t& count);

/// Builds the block of a client's `wire::chain_write_batch`: `add` every
/// write, then `finish`. Layout: the number of writes (u64), then per write
/// request, oldest_pending (u64 each), table, has_value (u8 each), key size
/// (u64), key, value size (u64), value.
class request_block {
public:
  request_block();

  /// A put of `*value`, or an erase without `value`.
  void add(uint64_t request, uint64_t oldest_pending, uint8_t table,
           std::string_view key, const std::string* value);

  size_t count() const noexcept {
    return count_;
  }

  /// The block; leaves this empty.
  std::string finish();

private:
  std::string bytes_;
  size_t count_ = 0;
};

/// Appends the writes of a block `request_block` built to `out`, each
/// carrying `epoch`; false, with `out` as it was, for anything else.
bool decode_requests(std::string_view bytes, chain_epoch epoch,
                     std::vector<chain_write_request>& out);

/// One client's record of the retry table.
std::string encode_client_record(const chain_client_record& record);

/// Reads what `encode_client_record` wrote; false for anything else.
bool decode_client_record(std::string_view bytes, chain_client_record& record);

} // namespace cafray
