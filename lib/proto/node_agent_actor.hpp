#pragma once

// A node's agent: where the node's own worker processes find it.

#include <string>

#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/cluster_actor.hpp"

namespace cafray {

/// Published on 127.0.0.1 at a port of its own; a worker process started by
/// the node's raylet connects there and attaches.
using node_agent_actor = caf::typed_actor<
  // A worker process asks how to reach its node: the GCS shards, the global
  // scheduler and the node itself (members holds exactly this node).
  // Answered once the node's components run; errc::version_mismatch for a
  // worker of another build.
  caf::replies_to<attach_atom, std::string>::with<cluster_welcome>,
  // The node's components run (sent once by the process that owns the
  // agent).
  caf::reacts_to<put_atom, cluster_welcome>>;

} // namespace cafray
