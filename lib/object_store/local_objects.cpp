#include "object_store/local_objects.hpp"

#include <mutex>

namespace cafray {

void local_objects::insert(const object_id& id, object_payload payload) {
  auto& s = shard_of(id);
  std::unique_lock guard{s.mtx};
  if (s.objects.emplace(id, std::move(payload)).second)
    size_.fetch_add(1, std::memory_order_relaxed);
}

void local_objects::erase(const object_id& id) {
  auto& s = shard_of(id);
  std::unique_lock guard{s.mtx};
  if (s.objects.erase(id) != 0)
    size_.fetch_sub(1, std::memory_order_relaxed);
}

const object_payload* local_objects::find(const object_id& id) const {
  auto& s = shard_of(id);
  std::shared_lock guard{s.mtx};
  auto i = s.objects.find(id);
  return i != s.objects.end() ? &i->second : nullptr;
}

bool local_objects::find_all(const std::vector<object_id>& ids,
                             std::vector<object_payload>& out) const {
  out.clear();
  out.reserve(ids.size());
  for (auto& id : ids) {
    auto& s = shard_of(id);
    std::shared_lock guard{s.mtx};
    auto i = s.objects.find(id);
    if (i == s.objects.end())
      return false;
    out.push_back(i->second);
  }
  return true;
}

bool local_objects::contains(const object_id& id) const {
  auto& s = shard_of(id);
  std::shared_lock guard{s.mtx};
  return s.objects.count(id) != 0;
}

} // namespace cafray
