#include "raylet/local_scheduler.hpp"

#include <algorithm>

namespace cafray {

local_scheduler::local_scheduler(resource_map total, uint32_t max_workers)
  : total_(total), available_(std::move(total)), max_workers_(max_workers) {
}

bool local_scheduler::feasible(const resource_map& demand) const {
  for (auto& [name, amount] : demand) {
    if (amount <= 0)
      continue;
    auto i = total_.find(name);
    if (i == total_.end() || i->second < amount)
      return false;
  }
  return true;
}

bool local_scheduler::fits(const resource_map& demand) const {
  for (auto& [name, amount] : demand) {
    if (amount <= 0)
      continue;
    auto i = available_.find(name);
    if (i == available_.end() || i->second < amount)
      return false;
  }
  return true;
}

void local_scheduler::acquire(const resource_map& demand) {
  for (auto& [name, amount] : demand)
    available_[name] -= amount;
}

void local_scheduler::give_back(const resource_map& demand) {
  for (auto& [name, amount] : demand)
    available_[name] += amount;
}

void local_scheduler::submit(task_spec spec,
                             std::vector<object_id>& subscribe) {
  queued_task task;
  task.resolved.resize(spec.args.size());
  task.filled.resize(spec.args.size(), 0);
  auto slot = next_slot_++;
  for (auto& arg : spec.args) {
    if (arg.kind != static_cast<uint8_t>(arg_kind::resolved))
      continue;
    ++task.missing;
    auto& slots = waiting_on_[arg.ref];
    if (slots.empty())
      subscribe.push_back(arg.ref);
    if (slots.empty() || slots.back() != slot)
      slots.push_back(slot);
  }
  task.spec = std::move(spec);
  if (task.missing == 0)
    ready_.emplace_back(std::move(task));
  else
    waiting_.emplace(slot, std::move(task));
}

void local_scheduler::object_ready(const object_id& id,
                                   const object_payload& payload) {
  auto i = waiting_on_.find(id);
  if (i == waiting_on_.end())
    return;
  auto slots = std::move(i->second);
  waiting_on_.erase(i);
  for (auto slot : slots) {
    auto j = waiting_.find(slot);
    if (j == waiting_.end())
      continue;
    auto& task = j->second;
    for (size_t k = 0; k < task.spec.args.size(); ++k) {
      auto& arg = task.spec.args[k];
      if (arg.kind == static_cast<uint8_t>(arg_kind::resolved)
          && arg.ref == id && !task.filled[k]) {
        task.resolved[k] = payload;
        task.filled[k] = 1;
        --task.missing;
      }
    }
    if (task.missing == 0) {
      ready_.emplace_back(std::move(task));
      waiting_.erase(j);
    }
  }
}

std::vector<local_scheduler::assignment>
local_scheduler::dispatch(uint32_t& want_workers) {
  std::vector<assignment> result;
  want_workers = 0;
  // Tasks that do not fit now are skipped, but only a bounded number of
  // them, so a long queue of blocked demand costs O(1) per dispatch.
  constexpr size_t max_skipped = 64;
  size_t skipped = 0;
  for (auto i = ready_.begin(); i != ready_.end() && skipped < max_skipped;) {
    if (!fits(i->spec.resources)) {
      ++i;
      ++skipped;
      continue;
    }
    if (idle_.empty()) {
      // Resources are free but every worker is busy or blocked.
      auto alive = static_cast<uint32_t>(workers_.size());
      if (alive + want_workers < max_workers_)
        ++want_workers;
      break;
    }
    auto w = idle_.back();
    idle_.pop_back();
    acquire(i->spec.resources);
    workers_[w].status = worker_status::busy;
    workers_[w].held = i->spec.resources;
    ++running_;
    result.push_back(
      assignment{w, std::move(i->spec), std::move(i->resolved)});
    i = ready_.erase(i);
  }
  return result;
}

uint32_t local_scheduler::add_worker() {
  auto index = static_cast<uint32_t>(workers_.size());
  workers_.emplace_back();
  idle_.push_back(index);
  return index;
}

void local_scheduler::task_done(uint32_t worker) {
  if (worker >= workers_.size())
    return;
  auto& slot = workers_[worker];
  if (slot.status == worker_status::busy)
    give_back(slot.held);
  slot.held.clear();
  slot.status = worker_status::idle;
  idle_.push_back(worker);
  if (running_ > 0)
    --running_;
}

void local_scheduler::worker_blocked(uint32_t worker) {
  if (worker >= workers_.size())
    return;
  auto& slot = workers_[worker];
  if (slot.status != worker_status::busy)
    return;
  give_back(slot.held);
  slot.status = worker_status::blocked;
}

void local_scheduler::worker_unblocked(uint32_t worker) {
  if (worker >= workers_.size())
    return;
  auto& slot = workers_[worker];
  if (slot.status != worker_status::blocked)
    return;
  // Takes its resources back even if that oversubscribes the node for a
  // while: the task already runs.
  acquire(slot.held);
  slot.status = worker_status::busy;
}

} // namespace cafray
