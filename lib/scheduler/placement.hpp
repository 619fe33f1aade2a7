#pragma once

#include <deque>
#include <map>
#include <optional>

#include "proto/messages.hpp"

namespace cafray {

/// The global scheduler's policy without actors: which node takes a spilled
/// task. Picks, among the nodes whose capacity covers the demand, the one
/// with the most free CPU per queued task; holds tasks no node can ever run
/// until such a node joins.
class placement {
public:
  /// Adds or refreshes a node's capacity.
  void add_node(const node_id& node, resource_map total);

  /// Updates a node's load from its heartbeat.
  void update(const load_report& report);

  void remove_node(const node_id& node);

  /// The node for `demand`, or nothing if no known node could ever run it.
  std::optional<node_id> choose(const resource_map& demand);

  /// The node for an actor that holds `demand` while it lives: among the
  /// nodes whose capacity covers it, one whose last report shows it free
  /// (the least loaded), else any (the actor waits there for it). Nothing
  /// if no known node could ever host it.
  std::optional<node_id> choose_for_actor(const resource_map& demand);

  /// Holds a task nobody can run yet.
  void hold(task_spec spec);

  /// Takes out the held tasks that now have a feasible node.
  std::vector<std::pair<node_id, task_spec>> release_feasible();

  size_t held() const {
    return held_.size();
  }

private:
  struct node_load {
    resource_map total;
    resource_map available;
    uint64_t queued = 0;
    uint64_t placed = 0;  // placements since the last report
  };

  static bool covers(const resource_map& have, const resource_map& demand);

  std::map<node_id, node_load> nodes_;
  std::deque<task_spec> held_;
};

} // namespace cafray
