#include "worker/task_queue.hpp"

#include <algorithm>
#include <map>
#include <thread>
#include <utility>

namespace cafray {

bool task_queue::push(item& x) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (blocked_ || stopped_)
      return false;
    items_.emplace_back(std::move(x));
  }
  cv_.notify_one();
  return true;
}

std::vector<task_spec>
task_queue::push_all(std::vector<task_assignment>& batch) {
  std::vector<task_spec> refused;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (blocked_ || stopped_) {
      refused.reserve(batch.size());
      for (auto& a : batch)
        refused.emplace_back(std::move(a.spec));
      return refused;
    }
    for (auto& a : batch)
      items_.push_back(
        item{std::move(a.spec), std::move(a.resolved), std::move(a.owner)});
  }
  cv_.notify_one();
  return refused;
}

bool task_queue::try_pop(item& x) {
  bool last = false;
  return try_pop(x, last);
}

bool task_queue::try_pop(item& x, bool& last) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (items_.empty() || stopped_)
    return false;
  x = std::move(items_.front());
  items_.pop_front();
  last = items_.empty();
  return true;
}

bool task_queue::pop(item& x) {
  using clock = std::chrono::steady_clock;
  auto spin_until = clock::now() + std::chrono::microseconds{100};
  std::unique_lock<std::mutex> guard{mtx_};
  while (items_.empty() && !stopped_ && clock::now() < spin_until) {
    guard.unlock();
    std::this_thread::yield();
    guard.lock();
  }
  cv_.wait(guard, [this] { return !items_.empty() || stopped_; });
  if (stopped_)
    return false;
  x = std::move(items_.front());
  items_.pop_front();
  return true;
}

std::vector<task_spec> task_queue::block() {
  std::vector<task_spec> result;
  std::lock_guard<std::mutex> guard{mtx_};
  blocked_ = true;
  // A lease stays: it is no task to place anew.
  std::deque<item> kept;
  for (auto& x : items_)
    if (x.lease != 0)
      kept.emplace_back(std::move(x));
    else
      result.emplace_back(std::move(x.spec));
  items_ = std::move(kept);
  return result;
}

std::vector<task_spec> task_queue::steal(size_t n) {
  std::vector<task_spec> result;
  std::lock_guard<std::mutex> guard{mtx_};
  // The newest tasks after the last lease (a lease is no task to steal).
  size_t first = items_.size();
  while (first > 0 && items_.size() - first < n && items_[first - 1].lease == 0)
    --first;
  result.reserve(items_.size() - first);
  for (auto i = items_.begin() + static_cast<ptrdiff_t>(first);
       i != items_.end(); ++i)
    result.emplace_back(std::move(i->spec));
  items_.resize(first);
  return result;
}

bool task_queue::empty() {
  std::lock_guard<std::mutex> guard{mtx_};
  return items_.empty();
}

void task_queue::unblock() {
  std::lock_guard<std::mutex> guard{mtx_};
  blocked_ = false;
}

void task_queue::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
  }
  cv_.notify_all();
}

bool task_queue::open_lease(uint64_t token) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (blocked_ || stopped_ || lease_ != 0)
      return false;
    lease_ = token;
    group_ = nullptr;
    item x;
    x.lease = token;
    items_.emplace_back(std::move(x));
  }
  cv_.notify_one();
  return true;
}

bool task_queue::push_leased(uint64_t token, item& x, size_t& depth) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (lease_ != token || blocked_ || stopped_)
      return false;
    x.leased = true;
    items_.emplace_back(std::move(x));
    depth = items_.size();
  }
  // Only the first of a burst wakes the executor (it runs the rest before
  // it waits again).
  if (depth == 1)
    cv_.notify_one();
  return true;
}

void task_queue::end_lease() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    lease_ = 0;
  }
  cv_.notify_one();
}

task_queue::lease_wait task_queue::pop_leased(item& x,
                                              std::chrono::microseconds timeout,
                                              bool close) {
  using clock = std::chrono::steady_clock;
  auto now = clock::now();
  auto spin_until = now + std::min(timeout, std::chrono::microseconds{100});
  auto until = now + timeout;
  std::unique_lock<std::mutex> guard{mtx_};
  auto ready = [this] { return !items_.empty() || stopped_ || lease_ == 0; };
  while (!ready() && clock::now() < spin_until) {
    guard.unlock();
    std::this_thread::yield();
    guard.lock();
  }
  cv_.wait_until(guard, until, ready);
  if (stopped_)
    return lease_wait::stopped;
  if (!items_.empty()) {
    x = std::move(items_.front());
    items_.pop_front();
    return lease_wait::task;
  }
  if (lease_ == 0)
    return lease_wait::ended;
  if (!close)
    return lease_wait::idle;
  lease_ = 0;
  return lease_wait::ended;
}

std::vector<task_queue::item> task_queue::steal_items(size_t n) {
  std::vector<item> result;
  std::lock_guard<std::mutex> guard{mtx_};
  // Only a lease's own tasks, while it lasts: the raylet's tasks are the
  // raylet's to move.
  if (lease_ == 0)
    return result;
  size_t first = items_.size();
  while (first > 0 && items_.size() - first < n && items_[first - 1].leased)
    --first;
  result.reserve(items_.size() - first);
  for (auto i = items_.begin() + static_cast<ptrdiff_t>(first);
       i != items_.end(); ++i)
    result.emplace_back(std::move(*i));
  items_.resize(first);
  return result;
}

size_t task_queue::size() {
  std::lock_guard<std::mutex> guard{mtx_};
  return items_.size();
}

void task_queue::set_group(uint64_t token, std::shared_ptr<lease_group> group) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (lease_ == token)
    group_ = std::move(group);
}

std::shared_ptr<lease_group> task_queue::group() {
  std::lock_guard<std::mutex> guard{mtx_};
  return lease_ != 0 ? group_ : nullptr;
}

void lease_group::add(const std::shared_ptr<task_queue>& q) {
  std::lock_guard<std::mutex> guard{mtx_};
  queues_.push_back(q);
}

void lease_group::remove(const task_queue* q) {
  std::lock_guard<std::mutex> guard{mtx_};
  queues_.erase(std::remove_if(queues_.begin(), queues_.end(),
                               [q](const std::weak_ptr<task_queue>& x) {
                                 auto p = x.lock();
                                 return !p || p.get() == q;
                               }),
                queues_.end());
}

std::vector<task_queue::item> lease_group::steal_for(const task_queue* idle) {
  std::shared_ptr<task_queue> victim;
  size_t most = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& x : queues_) {
      auto q = x.lock();
      if (!q || q.get() == idle)
        continue;
      auto n = q->size();
      if (n > most) {
        most = n;
        victim = std::move(q);
      }
    }
  }
  // The newer half (rounded up): a task queued behind a long one runs now.
  if (!victim || most == 0)
    return {};
  return victim->steal_items((most + 1) / 2);
}

namespace {

std::mutex local_queues_mtx;
std::map<std::pair<caf::actor_addr, uint32_t>, std::weak_ptr<task_queue>>
  local_queues;

} // namespace

void register_local_queue(const caf::actor_addr& raylet, uint32_t index,
                          const std::shared_ptr<task_queue>& q) {
  std::lock_guard<std::mutex> guard{local_queues_mtx};
  for (auto i = local_queues.begin(); i != local_queues.end();)
    if (i->second.expired())
      i = local_queues.erase(i);
    else
      ++i;
  local_queues[std::make_pair(raylet, index)] = q;
}

std::shared_ptr<task_queue> local_task_queue(const caf::actor_addr& raylet,
                                             uint32_t index) {
  std::lock_guard<std::mutex> guard{local_queues_mtx};
  auto i = local_queues.find(std::make_pair(raylet, index));
  return i != local_queues.end() ? i->second.lock() : nullptr;
}

} // namespace cafray
