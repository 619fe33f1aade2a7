#pragma once

// Conversions between the chain logic's vocabulary (gcs/chain.hpp) and the
// messages that carry it between actors (proto/gcs_chain_actor.hpp).

#include <cstddef>
#include <vector>

#include "gcs/chain.hpp"
#include "proto/gcs_chain_actor.hpp"

namespace cafray {

wire::chain_write to_wire(const chain_write& x);

chain_write from_wire(const wire::chain_write& x);

/// Appends the logic's entries of a forward to `out`; false, with `out` as
/// it was, if its block is corrupt.
bool entries_from_wire(const wire::chain_forward& x,
                       std::vector<chain_entry>& out);

/// Appends the logic's write requests of a client's batch to `out`; false,
/// with `out` as it was, if its block is corrupt.
bool requests_from_wire(const wire::chain_write_batch& x,
                        std::vector<chain_write_request>& out);

chain_read_request from_wire(const wire::chain_read_request& x);

/// The logic's configuration: ids in chain order.
chain_config config_from_wire(const wire::chain_configuration& x);

/// The retry table as a snapshot carries it.
std::vector<wire::chain_client_record>
clients_to_wire(const chain_client_table& x);

void add_clients_from_wire(const std::vector<wire::chain_client_record>& x,
                           chain_client_table& out);

/// Cuts `transfer` from replica `from` into parts of about `max_bytes` of
/// rows each; always at least one part, the last one flagged.
std::vector<wire::chain_snapshot_chunk>
snapshot_to_chunks(replica_id from, const chain_snapshot_transfer& transfer,
                   size_t max_bytes);

/// Puts the parts of a snapshot back together, in any order of arrival.
/// Requires every part, with indexes 0..n-1.
chain_snapshot_transfer
snapshot_from_chunks(std::vector<wire::chain_snapshot_chunk> chunks);

} // namespace cafray
