#include "api/detail/actor_calls.hpp"

#include <algorithm>

#include "object_store/local_objects.hpp"

namespace cafray::detail {

actor_call_table::actor_call_table(std::shared_ptr<local_objects> objects)
  : objects_(std::move(objects)) {
  // nop
}

void actor_call_table::prune(entry& e) {
  // Looked at once per so many calls: each look is an arena lookup on the
  // caller's path.
  constexpr size_t every = 32;
  if (!objects_ || e.pending.size() % every != 0 || e.pending.empty())
    return;
  // The youngest call answered: all are (a burst's caller that waited).
  if (objects_->contains(e.pending.back())) {
    e.pending.clear();
    return;
  }
  while (!e.pending.empty() && objects_->contains(e.pending.front()))
    e.pending.pop_front();
}

actor_call_table::route
actor_call_table::track_locked(const actor_id& actor, const object_id& id,
                               std::string& why) {
  auto& e = calls_[actor];
  if (e.dead) {
    why = e.why;
    return route::dead;
  }
  prune(e);
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

size_t actor_call_table::in_flight(const actor_id& actor) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = calls_.find(actor);
  return i == calls_.end() ? 0 : i->second.pending.size();
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
  // Calls up to the youngest one sealed were answered before the end.
  auto answered = e.pending.begin();
  if (objects_)
    for (auto j = e.pending.begin(); j != e.pending.end(); ++j)
      if (objects_->contains(*j))
        answered = j + 1;
  std::vector<object_id> ids(answered, e.pending.end());
  e.pending.clear();
  return {actor, std::move(ids)};
}

} // namespace cafray::detail
