#include "raylet/actor_slots.hpp"

#include <algorithm>

namespace cafray {

bool actor_slots::add(task_spec spec) {
  auto id = spec.actor;
  if (slots_.count(id) > 0)
    return false;
  slots_.emplace(id, slot{std::move(spec), phase::waiting, 0});
  waiting_.push_back(id);
  return true;
}

std::vector<actor_id> actor_slots::startable(local_scheduler& sched) {
  std::vector<actor_id> result;
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    auto& s = slots_.at(*i);
    if (!sched.reserve(s.spec.resources)) {
      ++i;
      continue;
    }
    s.state = phase::starting;
    result.push_back(*i);
    i = waiting_.erase(i);
  }
  return result;
}

void actor_slots::started(const actor_id& id, int32_t pid) {
  if (auto i = slots_.find(id); i != slots_.end())
    i->second.pid = pid;
}

bool actor_slots::alive(const actor_id& id) {
  auto i = slots_.find(id);
  if (i == slots_.end() || i->second.state != phase::starting)
    return false;
  i->second.state = phase::alive;
  return true;
}

const actor_slots::slot* actor_slots::find(const actor_id& id) const {
  auto i = slots_.find(id);
  return i == slots_.end() ? nullptr : &i->second;
}

std::optional<actor_slots::slot>
actor_slots::remove(const actor_id& id, local_scheduler& sched) {
  auto i = slots_.find(id);
  if (i == slots_.end())
    return std::nullopt;
  auto result = std::move(i->second);
  slots_.erase(i);
  if (result.state == phase::waiting)
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), id),
                   waiting_.end());
  else
    sched.unreserve(result.spec.resources);
  return result;
}

} // namespace cafray
