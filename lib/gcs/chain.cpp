#include "gcs/chain.hpp"

#include <algorithm>
#include <iterator>

namespace cafray {

bool chain_config::contains(replica_id id) const noexcept {
  return std::find(replicas.begin(), replicas.end(), id) != replicas.end();
}

std::optional<replica_id>
chain_config::predecessor(replica_id id) const noexcept {
  auto pos = std::find(replicas.begin(), replicas.end(), id);
  if (pos == replicas.end() || pos == replicas.begin())
    return std::nullopt;
  return *(pos - 1);
}

std::optional<replica_id>
chain_config::successor(replica_id id) const noexcept {
  auto pos = std::find(replicas.begin(), replicas.end(), id);
  if (pos == replicas.end() || pos + 1 == replicas.end())
    return std::nullopt;
  return *(pos + 1);
}

void remember_request(chain_client_table& clients, const chain_entry& entry) {
  auto& record = clients[entry.client];
  if (entry.oldest_pending > record.oldest_pending) {
    record.oldest_pending = entry.oldest_pending;
    record.applied.erase(record.applied.begin(),
                         record.applied.lower_bound(entry.oldest_pending));
  }
  record.applied[entry.request] = entry.seq;
}

const char* payload_name(const chain_payload& payload) noexcept {
  static constexpr const char* names[] = {
      "write_request", "read_request",     "write_ack",   "read_reply",
      "refused",       "forward",          "ack",         "sync",
      "snapshot",      "heartbeat",        "joined",      "install",
      "lease",         "snapshot_request", "cancel_join", "retire",
  };
  static_assert(std::size(names) == std::variant_size_v<chain_payload>);
  return names[payload.index()];
}

} // namespace cafray
