#include "object_store/local_objects.hpp"

#include <mutex>

namespace cafray {

void local_objects::insert(const object_id& id,
                           const object_payload& payload) {
  auto& s = shard_of(id);
  std::unique_lock guard{s.mtx};
  s.objects.emplace(id, payload);
}

void local_objects::erase(const object_id& id) {
  auto& s = shard_of(id);
  std::unique_lock guard{s.mtx};
  s.objects.erase(id);
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
