#pragma once

// The head's cluster directory: who is in the cluster and how to reach them.
// Nodes join it, drivers attach to it, operators ask it for the status.

#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/gcs_actor.hpp"
#include "proto/messages.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "proto/scheduler_actor.hpp"

namespace cafray {

/// The protocol version every process of a cluster must share: a node or
/// driver of another version is refused at join.
constexpr const char* cluster_protocol_version = "cafray-cluster-1";

/// One node of the cluster: where its process accepts connections and the
/// handles of its raylet and object store.
struct member_info {
  node_id id;
  std::string host;
  uint16_t port = 0;
  bool head = false;
  resource_map total;
  raylet_actor raylet;
  object_store_actor store;
  uint16_t transfer_port = 0;  // the store's transfer server
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.id, x.host, x.port, x.head,
           x.total, x.raylet, x.store, x.transfer_port);
}

/// What a joining node or an attaching driver gets from the head.
struct cluster_welcome {
  std::vector<gcs_actor> gcs;  // the shards, in routing order
  scheduler_actor global;
  std::vector<member_info> members;  // the head first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_welcome& x) {
  return f(caf::meta::type_name("cluster_welcome"), x.gcs, x.global,
           x.members);
}

/// One node as `caf-node status` shows it.
struct node_status {
  member_info member;
  bool alive = true;
  bool answered = false;  // load and store figures below are valid
  load_report load;
  store_stats store;
  bool draining = false;  // alive, leaving: takes no new work
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.member, x.alive, x.answered,
           x.load, x.store, x.draining);
}

/// The cluster as `caf-node status` shows it.
struct cluster_status {
  std::vector<node_status> nodes;
  /// Actors by state name ("alive", "dead", ...), from the GCS.
  std::vector<kv_entry> actors_by_state;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(caf::meta::type_name("cluster_status"), x.nodes,
           x.actors_by_state);
}

/// The head's directory of the cluster.
using cluster_actor = caf::typed_actor<
  // A node joins with its own description and protocol version; fails with
  // errc::version_mismatch. Every member then learns the new membership.
  caf::replies_to<join_atom, member_info, std::string>::with<cluster_welcome>,
  // A driver (or a node before it spawns its components) asks how to reach
  // the cluster; fails with errc::version_mismatch.
  caf::replies_to<attach_atom, std::string>::with<cluster_welcome>,
  // A node leaves gracefully.
  caf::reacts_to<leave_atom, node_id>,
  // A node starts to leave: it drains (takes no new work, finishes what
  // runs); the nodes table and the status show it draining until it
  // leaves.
  caf::reacts_to<drain_atom, node_id>,
  // The current members.
  caf::replies_to<members_atom>::with<std::vector<member_info>>,
  // Nodes, their load and stores, and actors by state.
  caf::replies_to<status_atom>::with<cluster_status>,
  // Internal: a status round ran out of time.
  caf::reacts_to<timeout_atom, uint64_t>>;

} // namespace cafray
