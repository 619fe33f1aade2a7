#include "api/detail/submit_queue.hpp"

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

} // namespace cafray::detail
