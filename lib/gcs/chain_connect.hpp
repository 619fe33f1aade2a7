#pragma once

// Direct connections between the processes of a chain: a replica's
// configuration names where each member accepts connections, and whoever
// sends to a member connects there itself instead of relying on CAF's
// automatic connections (CAF 0.17 can leave a process with a connection to a
// replica but no route to it, and messages then vanish).

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>

#include "proto/gcs_chain_actor.hpp"

namespace cafray {

/// Endpoints a process connected to (or is connecting to).
using chain_endpoints = std::set<std::pair<std::string, uint16_t>>;

/// Connects `self`'s process to `member`'s endpoint unless it did before.
/// Asynchronous: messages sent meanwhile travel through the coordinator's
/// process. A failed attempt is forgotten, so that the next call (with the
/// next configuration, or the caller's next tick) tries again.
template <class Self>
void connect_to(Self* self, chain_endpoints& connected,
                const wire::chain_member& member) {
  if (member.port == 0 || member.host.empty()
      || !self->system().has_middleman())
    return;
  auto endpoint = std::make_pair(member.host, member.port);
  if (!connected.insert(endpoint).second)
    return;
  auto mm = self->system().middleman().actor_handle();
  self
    ->request(mm, std::chrono::seconds{5}, caf::connect_atom_v,
              member.host, member.port)
    .then([](const caf::node_id&, const caf::strong_actor_ptr&,
             const std::set<std::string>&) {},
          [&connected, endpoint](const caf::error&) {
            connected.erase(endpoint);
          });
}

} // namespace cafray
