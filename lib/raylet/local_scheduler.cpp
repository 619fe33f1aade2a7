#include "raylet/local_scheduler.hpp"

#include <algorithm>

namespace cafray {

local_scheduler::local_scheduler(resource_map total, uint32_t max_workers,
                                 uint32_t pipeline_depth)
  : total_(total),
    available_(std::move(total)),
    max_workers_(max_workers),
    pipeline_depth_(std::max(1u, pipeline_depth)) {
}

int local_scheduler::pipeline_target(const resource_map& demand) const {
  int best = -1;
  for (size_t w = 0; w < workers_.size(); ++w) {
    auto& slot = workers_[w];
    if (slot.status != worker_status::busy || slot.in_flight >= pipeline_depth_
        || slot.held != demand || slot.leased)
      continue;
    if (best < 0 || slot.in_flight < workers_[best].in_flight)
      best = static_cast<int>(w);
  }
  return best;
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

namespace {

/// Whether `have` covers every positive amount of `demand`.
bool covers(const resource_map& have, const resource_map& demand) {
  for (auto& [name, amount] : demand) {
    if (amount <= 0)
      continue;
    auto i = have.find(name);
    if (i == have.end() || i->second < amount)
      return false;
  }
  return true;
}

} // namespace

bool local_scheduler::fits(const resource_map& demand) const {
  return covers(available_, demand);
}

bool local_scheduler::leases_hold_back_ready() const {
  if (ready_.empty())
    return false;
  if (std::none_of(workers_.begin(), workers_.end(),
                   [](const worker_slot& slot) { return slot.leased; }))
    return true; // a ready task waits for a worker, not for a lease
  auto freed = available_;
  for (auto& slot : workers_)
    if (slot.leased)
      for (auto& [name, amount] : slot.held)
        freed[name] += amount;
  // The queue's front is what runs next; a long queue is looked at in part.
  constexpr size_t most = 64;
  auto end = ready_.size() > most ? ready_.begin() + most : ready_.end();
  return std::any_of(ready_.begin(), end, [&](const queued_task& task) {
    return covers(freed, task.spec.resources);
  });
}

void local_scheduler::acquire(const resource_map& demand) {
  for (auto& [name, amount] : demand)
    available_[name] -= amount;
}

void local_scheduler::give_back(const resource_map& demand) {
  for (auto& [name, amount] : demand)
    available_[name] += amount;
}

bool local_scheduler::reserve(const resource_map& demand) {
  if (!fits(demand))
    return false;
  acquire(demand);
  return true;
}

void local_scheduler::unreserve(const resource_map& demand) {
  give_back(demand);
}

// Two queued tasks to a block of the ready deque (libstdc++ gives an
// element over 256 bytes a block of its own).
static_assert(sizeof(local_scheduler::queued_task) <= 256,
              "a queued task outgrew half a deque block");

void local_scheduler::submit(task_spec spec,
                             std::vector<object_id>& subscribe) {
  queued_task task;
  auto slot = next_slot_++;
  for (auto& arg : spec.args) {
    if (arg.kind != static_cast<uint8_t>(arg_kind::resolved))
      continue;
    if (!task.refs) {
      task.refs = std::make_unique<ref_args>();
      task.refs->resolved.resize(spec.args.size());
      task.refs->filled.resize(spec.args.size(), 0);
    }
    ++task.refs->missing;
    auto& slots = waiting_on_[arg.ref];
    if (slots.empty())
      subscribe.push_back(arg.ref);
    if (slots.empty() || slots.back() != slot)
      slots.push_back(slot);
  }
  task.spec = std::move(spec);
  if (task.missing() == 0)
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
    auto& refs = *task.refs;  // it waits: it has argument refs
    for (size_t k = 0; k < task.spec.args.size(); ++k) {
      auto& arg = task.spec.args[k];
      if (arg.kind == static_cast<uint8_t>(arg_kind::resolved)
          && arg.ref == id && !refs.filled[k]) {
        refs.resolved[k] = payload;
        refs.filled[k] = 1;
        --refs.missing;
      }
    }
    if (refs.missing == 0) {
      ready_.emplace_back(std::move(task));
      waiting_.erase(j);
    }
  }
}

std::vector<local_scheduler::assignment>
local_scheduler::dispatch(uint32_t& want_workers) {
  std::vector<assignment> result;
  if (!ready_.empty())
    result.reserve(std::min<size_t>(ready_.size(), 1024));
  want_workers = 0;
  // Tasks that cannot go anywhere now are skipped, but only a bounded number
  // of them, so a long queue of blocked demand costs O(1) per dispatch.
  constexpr size_t max_skipped = 64;
  size_t skipped = 0;
  // Most queued tasks share one demand: once it failed, the same demand
  // fails again this round, so such tasks cost one comparison and the scan
  // stops after a few of them.
  std::vector<resource_map> failed;
  size_t repeats = 0;
  auto failed_before = [&](const resource_map& demand) {
    for (auto& x : failed)
      if (x == demand)
        return true;
    return false;
  };
  // Demand of the tasks a wanted worker would run: reserved for this round
  // so that `want_workers` counts only workers that could start work now.
  std::vector<resource_map> reserved;
  auto assign = [&](std::deque<queued_task>::iterator i, uint32_t w) {
    auto& slot = workers_[w];
    ++slot.in_flight;
    slot.steal_dry = false;
    ++running_;
    result.push_back(assignment{
      w, std::move(i->spec),
      i->refs ? std::move(i->refs->resolved) : std::vector<object_payload>{}});
    return ready_.erase(i);
  };
  for (auto i = ready_.begin();
       i != ready_.end() && skipped < max_skipped && repeats < 8;) {
    auto& demand = i->spec.resources;
    if (failed_before(demand)) {
      ++i;
      ++repeats;
      continue;
    }
    if (fits(demand)) {
      if (!idle_.empty()) {
        auto w = idle_.back();
        idle_.pop_back();
        acquire(demand);
        workers_[w].status = worker_status::busy;
        workers_[w].held = demand;
        i = assign(i, w);
        continue;
      }
      // Resources are free but no worker is idle (some are blocked): a new
      // worker runs this in parallel, which beats queueing it.
      auto alive = static_cast<uint32_t>(workers_.size() - dead_);
      if (alive + want_workers < max_workers_) {
        ++want_workers;
        acquire(demand);
        reserved.push_back(demand);
        ++i;
        ++skipped;
        continue;
      }
    }
    auto w = pipeline_target(demand);
    if (w >= 0) {
      i = assign(i, static_cast<uint32_t>(w));
      continue;
    }
    failed.push_back(demand);
    ++i;
    ++skipped;
  }
  for (auto& demand : reserved)
    give_back(demand);
  return result;
}

int local_scheduler::lease(const resource_map& demand) {
  if (idle_.empty() || !fits(demand))
    return -1;
  auto w = idle_.back();
  idle_.pop_back();
  acquire(demand);
  auto& slot = workers_[w];
  slot.status = worker_status::busy;
  slot.held = demand;
  slot.in_flight = 1;
  slot.leased = true;
  slot.steal_dry = false;
  ++running_;
  return static_cast<int>(w);
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
  if (slot.in_flight == 0)
    return;
  slot.steal_dry = false;
  --slot.in_flight;
  if (running_ > 0)
    --running_;
  if (slot.in_flight > 0)
    return;
  if (slot.status == worker_status::busy)
    give_back(slot.held);
  slot.held.clear();
  slot.leased = false;
  slot.status = worker_status::idle;
  idle_.push_back(worker);
}

void local_scheduler::handed_back(uint32_t worker, size_t count) {
  if (worker >= workers_.size())
    return;
  auto& slot = workers_[worker];
  slot.steal_dry = slot.steal_pending && count == 0;
  slot.steal_pending = false;
  auto n = static_cast<uint32_t>(std::min<size_t>(count, slot.in_flight));
  slot.in_flight -= n;
  running_ -= std::min<size_t>(n, running_);
}

std::vector<local_scheduler::steal_request> local_scheduler::steals() {
  std::vector<steal_request> result;
  if (idle_.empty() || !ready_.empty())
    return result;
  auto thieves = idle_.size();
  for (uint32_t w = 0; w < workers_.size() && result.size() < thieves; ++w) {
    auto& slot = workers_[w];
    // The thief must be able to take the resources the victim's queued
    // tasks need, or they would only go back to a busy worker.
    if (slot.status != worker_status::busy || slot.in_flight < 2 || slot.leased
        || slot.steal_pending || slot.steal_dry || !fits(slot.held))
      continue;
    slot.steal_pending = true;
    result.push_back(steal_request{w, slot.in_flight / 2});
  }
  return result;
}

std::vector<task_spec> local_scheduler::take_queued() {
  // Waiting tasks by slot number: the order they were submitted in.
  std::vector<std::pair<uint64_t, queued_task*>> waiting;
  waiting.reserve(waiting_.size());
  for (auto& [slot, task] : waiting_)
    waiting.emplace_back(slot, &task);
  std::sort(waiting.begin(), waiting.end(),
            [](auto& x, auto& y) { return x.first < y.first; });
  std::vector<task_spec> result;
  result.reserve(ready_.size() + waiting.size());
  for (auto& task : ready_)
    result.emplace_back(std::move(task.spec));
  for (auto& [slot, task] : waiting)
    result.emplace_back(std::move(task->spec));
  ready_.clear();
  waiting_.clear();
  waiting_on_.clear();
  return result;
}

std::vector<local_scheduler::steal_request>
local_scheduler::drain_requests() {
  std::vector<steal_request> result;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    auto& slot = workers_[w];
    if (slot.status == worker_status::dead || slot.in_flight == 0
        || slot.leased)
      continue;
    slot.steal_pending = true;
    // All of them: a worker gives back only what it has not started (a
    // worker process still starting has started none).
    result.push_back(steal_request{w, slot.in_flight});
  }
  return result;
}

void local_scheduler::worker_died(uint32_t worker) {
  if (worker >= workers_.size())
    return;
  auto& slot = workers_[worker];
  if (slot.status == worker_status::dead)
    return;
  if (slot.status == worker_status::busy)
    give_back(slot.held);
  running_ -= std::min<size_t>(slot.in_flight, running_);
  slot.in_flight = 0;
  slot.held.clear();
  slot.leased = false;
  slot.status = worker_status::dead;
  slot.steal_pending = false;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), worker), idle_.end());
  ++dead_;
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
