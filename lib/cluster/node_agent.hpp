#pragma once

#include <optional>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "proto/node_agent_actor.hpp"

namespace cafray {

struct node_agent_state {
  static inline const char* name = "cafray.node_agent";

  std::optional<cluster_welcome> welcome;
  /// Attaches that arrived before the node's components ran.
  std::vector<caf::typed_response_promise<cluster_welcome>> early;
};

/// See node_agent_actor.
node_agent_actor::behavior_type
node_agent(node_agent_actor::stateful_pointer<node_agent_state> self);

node_agent_actor spawn_node_agent(caf::actor_system& sys);

} // namespace cafray
