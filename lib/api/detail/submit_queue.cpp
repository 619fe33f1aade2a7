#include "api/detail/submit_queue.hpp"

#include <utility>

namespace cafray::detail {

submit_queue::route submit_queue::push(task_spec& spec) {
  // Submissions closer together than this count as a burst.
  constexpr auto burst_gap = std::chrono::microseconds{20};
  std::lock_guard<std::mutex> guard{mtx_};
  if (rung_) {
    // A burst under way: the core worker takes this with the rest (and
    // notes the time when it finds the queue empty).
    items_.emplace_back(std::move(spec));
    return route::queued;
  }
  auto now = clock::now();
  auto recent = now - last_ < burst_gap;
  last_ = now;
  if (items_.empty() && !recent)
    return route::direct;
  items_.emplace_back(std::move(spec));
  rung_ = true;
  return route::doorbell;
}

std::vector<task_spec> submit_queue::take() {
  std::vector<task_spec> result;
  std::lock_guard<std::mutex> guard{mtx_};
  if (items_.empty()) {
    rung_ = false;
    // The burst's last submission came about now.
    last_ = clock::now();
  } else {
    result.swap(items_);
    // The next batch is likely as large: one allocation instead of one
    // per doubling.
    items_.reserve(result.size());
  }
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
