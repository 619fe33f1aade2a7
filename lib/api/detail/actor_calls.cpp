#include "api/detail/actor_calls.hpp"

#include <algorithm>

namespace cafray::detail {

actor_call_table::route actor_call_table::track(const actor_id& actor,
                                                const object_id& id,
                                                std::string& why) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = calls_[actor];
  if (e.dead) {
    why = e.why;
    return route::dead;
  }
  e.pending.push_back(id);
  if (e.watched && e.via_core == 0)
    return route::direct;
  ++e.via_core;
  return route::via_core;
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
  std::vector<object_id> ids(e.pending.begin(), e.pending.end());
  e.pending.clear();
  return {actor, std::move(ids)};
}

} // namespace cafray::detail
