#include "scheduler/placement.hpp"

namespace cafray {

void placement::add_node(const node_id& node, resource_map total) {
  auto& n = nodes_[node];
  n.available = total;
  n.total = std::move(total);
}

void placement::update(const load_report& report) {
  auto i = nodes_.find(report.node);
  if (i == nodes_.end())
    return;
  i->second.total = report.total;
  i->second.available = report.available;
  // Tasks pipelined on busy workers wait too: what runs beyond the node's
  // CPUs counts as queued, so a loaded node looks loaded.
  auto cpus = report.total.count("CPU") ? report.total.at("CPU") / 1000 : 0;
  auto running = static_cast<int64_t>(report.running);
  i->second.queued = report.queued
                     + static_cast<uint64_t>(running > cpus ? running - cpus
                                                            : 0);
  i->second.placed = 0;
}

void placement::remove_node(const node_id& node) {
  nodes_.erase(node);
}

bool placement::covers(const resource_map& have, const resource_map& demand) {
  for (auto& [name, amount] : demand) {
    if (amount <= 0)
      continue;
    auto i = have.find(name);
    if (i == have.end() || i->second < amount)
      return false;
  }
  return true;
}

std::optional<node_id> placement::choose(const resource_map& demand) {
  const node_id* best = nullptr;
  double best_score = 0;
  for (auto& [id, n] : nodes_) {
    if (!covers(n.total, demand))
      continue;
    auto cpu = n.available.count("CPU") ? n.available.at("CPU") : 0;
    auto score = static_cast<double>(cpu + 1000)
                 / static_cast<double>(1 + n.queued + n.placed);
    if (!best || score > best_score) {
      best = &id;
      best_score = score;
    }
  }
  if (!best)
    return std::nullopt;
  ++nodes_[*best].placed;
  return *best;
}

std::optional<node_id>
placement::choose_for_actor(const resource_map& demand) {
  resource_map custom;
  for (auto& [name, amount] : demand)
    if (name != "CPU")
      custom[name] = amount;
  // CPU is scored by choose(); only the other resources must be free.
  std::optional<node_id> best;
  double best_score = 0;
  for (auto& [id, n] : nodes_) {
    if (!covers(n.total, demand) || !covers(n.available, custom))
      continue;
    auto cpu = n.available.count("CPU") ? n.available.at("CPU") : 0;
    auto score = static_cast<double>(cpu + 1000)
                 / static_cast<double>(1 + n.queued + n.placed);
    if (!best || score > best_score) {
      best = id;
      best_score = score;
    }
  }
  if (!best)
    return choose(demand);
  auto& n = nodes_[*best];
  ++n.placed;
  // Held until the node's next report says otherwise.
  for (auto& [name, amount] : custom)
    n.available[name] -= amount;
  return best;
}

void placement::hold(task_spec spec) {
  held_.emplace_back(std::move(spec));
}

std::vector<std::pair<node_id, task_spec>> placement::release_feasible() {
  std::vector<std::pair<node_id, task_spec>> result;
  std::deque<task_spec> still;
  for (auto& spec : held_) {
    if (auto node = choose(spec.resources))
      result.emplace_back(*node, std::move(spec));
    else
      still.emplace_back(std::move(spec));
  }
  held_.swap(still);
  return result;
}

} // namespace cafray
