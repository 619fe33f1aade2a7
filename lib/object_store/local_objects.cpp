#include "object_store/local_objects.hpp"

#include <algorithm>

namespace cafray {

seal_watch::~seal_watch() {
  // nop
}

void forwarding_watch::sealed(const object_id& id) {
  if (auto arena = arena_.lock())
    if (auto payload = arena->find(id))
      f_(id, std::move(*payload));
}

void local_objects::entry::assign(object_payload&& x) {
  data = std::move(x.data);
  error_code = x.error_code;
  if (x.failed())
    error = std::make_shared<const error_record>(std::move(x.error));
}

object_payload local_objects::entry::payload() const {
  object_payload result;
  result.data = data;
  result.error_code = error_code;
  if (error)
    result.error = *error;
  return result;
}

void local_objects::seal_locked(entry& e, object_payload&& payload,
                                bool adopted, taken_watchers& wake) {
  e.assign(std::move(payload));
  e.sealed = true;
  e.adopted = adopted;
  if (adopted)
    bytes_.fetch_add(e.data.size(), std::memory_order_relaxed);
  size_.fetch_add(1, std::memory_order_relaxed);
  wake.first = std::move(e.watcher);
  wake.others = std::move(e.others);
  e.watcher = nullptr;
  e.others = {};
}

void local_objects::taken_watchers::wake(const object_id& id) const {
  if (first)
    first->sealed(id);
  for (auto& w : others)
    w->sealed(id);
}

void local_objects::drop_locked(
  shard& s, std::unordered_map<object_id, entry>::iterator i) {
  if (i->second.adopted)
    bytes_.fetch_sub(i->second.data.size(), std::memory_order_relaxed);
  size_.fetch_sub(1, std::memory_order_relaxed);
  s.objects.erase(i);
}

bool local_objects::insert(const object_id& id, object_payload payload) {
  taken_watchers wake;
  {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto& e = s.objects[id];
    if (e.sealed)
      return false;
    seal_locked(e, std::move(payload), false, wake);
  }
  wake.wake(id);
  return true;
}

bool local_objects::publish(const object_id& id, object_payload payload) {
  taken_watchers wake;
  {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    if (!s.released.empty() && s.released.erase(id) != 0)
      return false;
    auto& e = s.objects[id];
    if (e.sealed)
      return false;
    seal_locked(e, std::move(payload), true, wake);
  }
  wake.wake(id);
  return true;
}

local_objects::adoption local_objects::adopt(const object_id& id,
                                             object_payload payload) {
  taken_watchers wake;
  {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto i = s.objects.find(id);
    if (!s.released.empty() && s.released.erase(id) != 0) {
      // Its producer's copy, if any, goes too.
      if (i != s.objects.end() && i->second.sealed)
        drop_locked(s, i);
      return adoption::released;
    }
    if (i != s.objects.end() && i->second.sealed) {
      auto& e = i->second;
      if (e.adopted)
        return adoption::repeated;
      e.adopted = true;
      bytes_.fetch_add(e.data.size(), std::memory_order_relaxed);
      return adoption::fresh;
    }
    auto& e = i != s.objects.end() ? i->second : s.objects[id];
    seal_locked(e, std::move(payload), true, wake);
  }
  wake.wake(id);
  return adoption::fresh;
}

std::vector<object_id>
local_objects::missing(const std::vector<object_id>& ids) const {
  std::vector<object_id> result;
  for (auto& id : ids)
    if (!contains(id))
      result.push_back(id);
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

void local_objects::watch(const std::vector<object_id>& ids,
                          const std::shared_ptr<seal_watch>& w) {
  // The shard's lock orders the registration against the seal: either the
  // seal finds the watcher, or the watcher finds the object here.
  std::vector<object_id> sealed;
  for (auto& id : ids) {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto& e = s.objects[id];
    if (e.sealed)
      sealed.push_back(id);
    else if (!e.watcher)
      e.watcher = w;
    else
      e.others.push_back(w);
  }
  for (auto& id : sealed)
    w->sealed(id);
}

size_t local_objects::watch_missing(const std::vector<object_id>& ids,
                                    const std::shared_ptr<seal_watch>& w) {
  size_t n = 0;
  for (auto& id : ids) {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto& e = s.objects[id];
    if (e.sealed)
      continue;
    if (!e.watcher)
      e.watcher = w;
    else
      e.others.push_back(w);
    ++n;
  }
  return n;
}

void local_objects::unwatch(const std::vector<object_id>& ids,
                            const seal_watch* w) {
  for (auto& id : ids) {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto i = s.objects.find(id);
    if (i == s.objects.end() || i->second.sealed)
      continue;
    auto& e = i->second;
    auto& xs = e.others;
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [w](const watch_ptr& x) { return x.get() == w; }),
             xs.end());
    if (e.watcher.get() == w) {
      e.watcher = nullptr;
      if (!xs.empty()) {
        e.watcher = std::move(xs.back());
        xs.pop_back();
      }
    }
    if (!e.watched())
      s.objects.erase(i);
  }
}

local_objects::erased local_objects::erase(const object_id& id) {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  if (i == s.objects.end() || !i->second.sealed)
    return erased::absent;
  auto result = i->second.adopted ? erased::adopted : erased::unadopted;
  drop_locked(s, i);
  return result;
}

void local_objects::release(const object_id& id) {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  if (i == s.objects.end() || !i->second.sealed) {
    s.released.insert(id);
    return;
  }
  // Sealed by its producer, its message to the store still on the way:
  // that adoption must not bring it back.
  if (!i->second.adopted)
    s.released.insert(id);
  drop_locked(s, i);
}

std::optional<object_payload> local_objects::find(const object_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  if (i == s.objects.end() || !i->second.sealed)
    return std::nullopt;
  return i->second.payload();
}

bool local_objects::find_all(const std::vector<object_id>& ids,
                             std::vector<object_payload>& out) const {
  out.clear();
  out.reserve(ids.size());
  for (auto& id : ids) {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto i = s.objects.find(id);
    if (i == s.objects.end() || !i->second.sealed)
      return false;
    out.push_back(i->second.payload());
  }
  return true;
}

std::vector<object_id> local_objects::sealed_ids() const {
  std::vector<object_id> result;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mtx};
    for (auto& [id, e] : s.objects)
      if (e.sealed)
        result.push_back(id);
  }
  return result;
}

bool local_objects::contains(const object_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  return i != s.objects.end() && i->second.sealed;
}

} // namespace cafray
