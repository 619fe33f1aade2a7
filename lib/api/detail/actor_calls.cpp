#include "api/detail/actor_calls.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>

namespace cafray::detail {

actor_call_table::route actor_call_table::track(const caf::actor& host,
                                                task_spec& spec,
                                                std::string& why) {
  // Calls closer together than this, with no wait between, are a burst.
  constexpr auto burst_gap = std::chrono::microseconds{20};
  auto epoch = epoch_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = calls_[spec.actor];
  if (e.dead) {
    why = e.why;
    return route::dead;
  }
  e.pending.push_back(spec.return_id());
  if (!e.watched || e.via_core > 0) {
    e.last = clock::now();
    e.epoch = epoch;
    ++e.via_core;
    return route::via_core;
  }
  if (e.rung) {
    // A burst under way: the core worker takes this with the rest (and
    // notes the time when it finds the outbox empty).
    e.outbox.emplace_back(std::move(spec));
    return route::queued;
  }
  auto now = clock::now();
  auto recent = e.epoch == epoch && now - e.last < burst_gap;
  e.last = now;
  e.epoch = epoch;
  if (e.outbox.empty() && !recent)
    return route::direct;
  e.outbox.emplace_back(std::move(spec));
  e.host = host.address();
  e.rung = true;
  return route::doorbell;
}

std::pair<caf::actor, std::vector<task_spec>>
actor_call_table::take(const actor_id& actor) {
  std::pair<caf::actor, std::vector<task_spec>> result;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = calls_.find(actor);
  if (i == calls_.end())
    return result;
  auto& e = i->second;
  if (e.outbox.empty()) {
    e.rung = false;
    // The burst's last call came about now.
    e.last = clock::now();
    return result;
  }
  result.first = caf::actor_cast<caf::actor>(e.host);
  result.second.swap(e.outbox);
  // The next batch is likely as large: one allocation instead of one per
  // doubling.
  e.outbox.reserve(result.second.size());
  return result;
}

bool actor_call_table::watch(const actor_id& actor,
                             const caf::actor_addr& host) {
  std::lock_guard<std::mutex> guard{mtx_};
  return hosts_.emplace(host, actor).second;
}

void actor_call_table::forwarded(const actor_id& actor) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = calls_[actor];
  if (e.via_core > 0)
    --e.via_core;
  e.watched = true;
}

void actor_call_table::done(const actor_id& actor, const object_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = calls_.find(actor);
  if (i == calls_.end())
    return;
  auto& pending = i->second.pending;
  if (!pending.empty() && pending.front() == id) {
    pending.pop_front();
    return;
  }
  auto j = std::find(pending.begin(), pending.end(), id);
  if (j != pending.end())
    pending.erase(j);
}

std::pair<actor_id, std::vector<object_id>>
actor_call_table::fail(const caf::actor_addr& host, const std::string& why) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = hosts_.find(host);
  if (i == hosts_.end())
    return {};
  auto actor = i->second;
  hosts_.erase(i);
  auto& e = calls_[actor];
  e.dead = true;
  e.why = why;
  e.outbox.clear();
  e.host = caf::actor_addr{};
  std::vector<object_id> ids(e.pending.begin(), e.pending.end());
  e.pending.clear();
  return {actor, std::move(ids)};
}

} // namespace cafray::detail
