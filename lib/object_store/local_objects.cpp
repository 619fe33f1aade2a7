#include "object_store/local_objects.hpp"

#include <algorithm>

namespace cafray {

seal_watch::~seal_watch() {
  // nop
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

bool local_objects::insert(const object_id& id, object_payload payload) {
  {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto [i, added] = s.objects.try_emplace(id);
    if (!added)
      return false;
    i->second.assign(std::move(payload));
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  notify(id);
  return true;
}

bool local_objects::adopt(const object_id& id, object_payload payload) {
  {
    auto& s = shard_of(id);
    std::lock_guard guard{s.mtx};
    auto [i, added] = s.objects.try_emplace(id);
    if (!added) {
      if (i->second.adopted)
        return false;
      i->second.adopted = true;
      return true;
    }
    i->second.assign(std::move(payload));
    i->second.adopted = true;
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  notify(id);
  return true;
}

void local_objects::notify(const object_id& id) {
  // Pairs with the fence in `watch`: either the watcher's re-check sees
  // this object, or this load sees the watcher's registration.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (watch_count_.load(std::memory_order_relaxed) == 0)
    return;
  std::lock_guard<std::mutex> guard{watch_mtx_};
  auto [first, last] = watches_.equal_range(id);
  if (first == last)
    return;
  for (auto i = first; i != last; ++i)
    i->second->sealed(id);
  watch_count_.fetch_sub(static_cast<size_t>(std::distance(first, last)),
                         std::memory_order_relaxed);
  watches_.erase(first, last);
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
  if (ids.empty())
    return;
  {
    std::lock_guard<std::mutex> guard{watch_mtx_};
    for (auto& id : ids)
      watches_.emplace(id, w);
    watch_count_.fetch_add(ids.size(), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Objects sealed before the registration: whoever removes the
  // registration reports the seal, so each ID is reported once.
  for (auto& id : ids) {
    if (!contains(id))
      continue;
    std::lock_guard<std::mutex> guard{watch_mtx_};
    auto [first, last] = watches_.equal_range(id);
    for (auto i = first; i != last; ++i) {
      if (i->second.get() == w.get()) {
        watches_.erase(i);
        watch_count_.fetch_sub(1, std::memory_order_relaxed);
        w->sealed(id);
        break;
      }
    }
  }
}

void local_objects::unwatch(const std::vector<object_id>& ids,
                            const seal_watch* w) {
  if (watch_count_.load(std::memory_order_relaxed) == 0)
    return;
  std::lock_guard<std::mutex> guard{watch_mtx_};
  for (auto& id : ids) {
    auto [first, last] = watches_.equal_range(id);
    for (auto i = first; i != last;) {
      if (i->second.get() == w) {
        i = watches_.erase(i);
        watch_count_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        ++i;
      }
    }
  }
}

local_objects::erased local_objects::erase(const object_id& id) {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  if (i == s.objects.end())
    return erased::absent;
  auto result = i->second.adopted ? erased::adopted : erased::unadopted;
  s.objects.erase(i);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return result;
}

std::optional<object_payload> local_objects::find(const object_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  auto i = s.objects.find(id);
  if (i == s.objects.end())
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
    if (i == s.objects.end())
      return false;
    out.push_back(i->second.payload());
  }
  return true;
}

bool local_objects::contains(const object_id& id) const {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mtx};
  return s.objects.count(id) != 0;
}

} // namespace cafray
