#pragma once

#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/messages.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray {

/// A global scheduler shard: places the tasks raylets cannot run.
using scheduler_actor = caf::typed_actor<
  // A raylet joins (or rejoins) with its capacity.
  caf::reacts_to<register_atom, node_id, raylet_actor, resource_map>,
  // A raylet's periodic load report.
  caf::reacts_to<heartbeat_atom, load_report>,
  // A task its raylet cannot place; held until some node can take it.
  caf::reacts_to<spill_atom, task_spec>,
  // The same, with the core worker that takes its result (see raylet).
  caf::reacts_to<spill_atom, task_spec, caf::actor>,
  // Tasks a raylet spilled while handling one message, in submission
  // order, with the core worker that takes all their results (a null
  // handle: none). Placed like single spills; each node chosen gets them
  // in one place message.
  caf::reacts_to<spill_atom, std::vector<task_spec>, caf::actor>,
  // An actor its raylet cannot host: passed to a node that offers its
  // resources, which answers (errc::infeasible if no node can).
  caf::replies_to<place_actor_atom, task_spec>::with<actor_location>,
  // A node drains (it leaves): nothing is placed there any more.
  caf::reacts_to<drain_atom, node_id>,
  // Number of tasks waiting for a feasible node.
  caf::replies_to<stats_atom>::with<uint64_t>>;

} // namespace cafray
