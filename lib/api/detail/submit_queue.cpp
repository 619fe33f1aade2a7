#include "api/detail/submit_queue.hpp"

#include <utility>

namespace cafray::detail {

submit_queue::route submit_queue::push(task_spec& spec) {
  // Submissions closer together than this count as a burst.
  constexpr auto burst_gap = std::chrono::microseconds{20};
  auto now = clock::now();
  std::lock_guard<std::mutex> guard{mtx_};
  auto recent = now - last_ < burst_gap;
  last_ = now;
  if (!rung_ && items_.empty() && !recent)
    return route::direct;
  items_.emplace_back(std::move(spec));
  if (rung_)
    return route::queued;
  rung_ = true;
  return route::doorbell;
}

std::vector<task_spec> submit_queue::take() {
  std::vector<task_spec> result;
  std::lock_guard<std::mutex> guard{mtx_};
  if (items_.empty())
    rung_ = false;
  else
    result.swap(items_);
  return result;
}

void submit_queue::paused() {
  std::lock_guard<std::mutex> guard{mtx_};
  last_ = clock::time_point{};
}

bool release_queue::push_sealed(const object_id& id, object_payload payload) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto ring = !rung();
  items_.sealed.push_back(id);
  items_.payloads.emplace_back(std::move(payload));
  return ring;
}

bool release_queue::push(const object_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto ring = !rung();
  items_.released.push_back(id);
  return ring;
}

release_queue::batch release_queue::take() {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::exchange(items_, {});
}

} // namespace cafray::detail
