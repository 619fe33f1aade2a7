#pragma once

// Bytes for what a chain replica keeps on disk besides its rows: log entries
// and retry-table records. A fixed little-endian layout, so that a data
// directory reads the same whatever built it.

#include <string>
#include <string_view>

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

/// One client's record of the retry table.
std::string encode_client_record(const chain_client_record& record);

/// Reads what `encode_client_record` wrote; false for anything else.
bool decode_client_record(std::string_view bytes, chain_client_record& record);

} // namespace cafray
