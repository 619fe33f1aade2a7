#pragma once

#include <vector>

#include <caf/actor_system.hpp>

#include "proto/cluster_actor.hpp"
#include "proto/gcs_router.hpp"

namespace cafray {

struct cluster_directory_state {
  static inline const char* name = "cafray.cluster_directory";

  struct member {
    member_info info;
    bool alive = true;
    bool draining = false;  // leaving: takes no new work
  };

  gcs_router gcs;
  scheduler_actor global;
  std::vector<member> members;  // in join order, the head first
  uint64_t next_round = 0;
};

/// The head's directory of the cluster (see cluster_actor). It monitors
/// every member's raylet: a member whose raylet goes down (its process died
/// or left) is marked dead in the GCS nodes table, and every live member's
/// store and raylet learn the new membership.
cluster_actor::behavior_type cluster_directory(
  cluster_actor::stateful_pointer<cluster_directory_state> self,
  gcs_router gcs, scheduler_actor global);

cluster_actor spawn_cluster_directory(caf::actor_system& sys, gcs_router gcs,
                                      scheduler_actor global);

} // namespace cafray
