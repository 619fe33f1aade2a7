#include "gcs/chain_wire.hpp"

#include <algorithm>

#include "gcs/chain_codec.hpp"

namespace cafray {

wire::chain_write to_wire(const chain_write& x) {
  wire::chain_write result;
  result.table = x.table;
  result.key = x.key;
  result.erase = !x.value.has_value();
  if (x.value)
    result.value = *x.value;
  return result;
}

chain_write from_wire(const wire::chain_write& x) {
  chain_write result;
  result.table = x.table;
  result.key = x.key;
  if (!x.erase)
    result.value = x.value;
  return result;
}

bool entries_from_wire(const wire::chain_forward& x,
                       std::vector<chain_entry>& out) {
  return x.block.empty() || decode_entries(x.block, out);
}

bool requests_from_wire(const wire::chain_write_batch& x,
                        std::vector<chain_write_request>& out) {
  return decode_requests(x.block, x.epoch, out);
}

chain_read_request from_wire(const wire::chain_read_request& x) {
  return chain_read_request{x.epoch, x.request, x.table, x.key};
}

chain_config config_from_wire(const wire::chain_configuration& x) {
  chain_config result;
  result.shard = x.shard;
  result.epoch = x.epoch;
  for (auto& member : x.members)
    result.replicas.push_back(member.replica);
  return result;
}

std::vector<wire::chain_client_record>
clients_to_wire(const chain_client_table& x) {
  std::vector<wire::chain_client_record> result;
  result.reserve(x.size());
  for (auto& [client, record] : x) {
    wire::chain_client_record out;
    out.client = client;
    out.oldest_pending = record.oldest_pending;
    for (auto& [request, seq] : record.applied) {
      out.requests.push_back(request);
      out.seqs.push_back(seq);
    }
    result.push_back(std::move(out));
  }
  return result;
}

void add_clients_from_wire(const std::vector<wire::chain_client_record>& x,
                           chain_client_table& out) {
  for (auto& record : x) {
    auto& dst = out[record.client];
    dst.oldest_pending = record.oldest_pending;
    auto n = std::min(record.requests.size(), record.seqs.size());
    for (size_t i = 0; i < n; ++i)
      dst.applied[record.requests[i]] = record.seqs[i];
  }
}

std::vector<wire::chain_snapshot_chunk>
snapshot_to_chunks(replica_id from, const chain_snapshot_transfer& transfer,
                   size_t max_bytes) {
  std::vector<wire::chain_snapshot_chunk> result;
  auto fresh = [&] {
    wire::chain_snapshot_chunk chunk;
    chunk.from = from;
    chunk.attempt = transfer.attempt;
    chunk.seq = transfer.snapshot.seq;
    chunk.index = static_cast<uint32_t>(result.size());
    result.push_back(std::move(chunk));
  };
  fresh();
  size_t bytes = 0;
  for (auto& row : transfer.snapshot.rows) {
    auto size = row.key.size() + row.value.size() + 16;
    if (bytes > 0 && bytes + size > max_bytes) {
      fresh();
      bytes = 0;
    }
    result.back().rows.push_back(
      wire::chain_row{row.table, row.key, row.value});
    bytes += size;
  }
  result.back().clients = clients_to_wire(transfer.snapshot.clients);
  result.back().last = true;
  return result;
}

chain_snapshot_transfer
snapshot_from_chunks(std::vector<wire::chain_snapshot_chunk> chunks) {
  std::sort(chunks.begin(), chunks.end(),
            [](const auto& x, const auto& y) { return x.index < y.index; });
  chain_snapshot_transfer result;
  if (chunks.empty())
    return result;
  result.attempt = chunks.front().attempt;
  result.snapshot.seq = chunks.front().seq;
  for (auto& chunk : chunks) {
    for (auto& row : chunk.rows)
      result.snapshot.rows.push_back(
        chain_row{row.table, std::move(row.key), std::move(row.value)});
    add_clients_from_wire(chunk.clients, result.snapshot.clients);
  }
  return result;
}

} // namespace cafray
