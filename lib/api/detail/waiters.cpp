#include "api/detail/waiters.hpp"

#include <chrono>
#include <thread>

#include "common/error.hpp"

namespace cafray::detail {

void waiter::finish() {
  answered.store(true, std::memory_order_release);
  wake();
}

void waiter::wake() {
  {
    std::lock_guard<std::mutex> guard{mtx};
    done.store(true, std::memory_order_release);
  }
  cv.notify_one();
}

void waiter::sealed(const object_id&) {
  if (unsealed.fetch_sub(1, std::memory_order_acq_rel) == 1)
    wake();
}

void waiter::await() {
  using clock = std::chrono::steady_clock;
  auto spin_until = clock::now() + std::chrono::microseconds{300};
  while (!done.load(std::memory_order_acquire)) {
    if (clock::now() >= spin_until) {
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait(guard, [this] { return done.load(std::memory_order_acquire); });
      return;
    }
    std::this_thread::yield();
  }
}

bool waiter::await_for(std::chrono::nanoseconds timeout) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto deadline = start + timeout;
  auto spin_until = start + std::min<std::chrono::nanoseconds>(
                              timeout, std::chrono::microseconds{300});
  while (!done.load(std::memory_order_acquire)) {
    auto now = clock::now();
    if (now >= spin_until) {
      std::unique_lock<std::mutex> guard{mtx};
      return cv.wait_until(guard, deadline, [this] {
        return done.load(std::memory_order_acquire);
      });
    }
    std::this_thread::yield();
  }
  return true;
}

std::pair<uint64_t, std::shared_ptr<waiter>> waiter_table::open() {
  auto w = std::make_shared<waiter>();
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_) {
    w->err = make_error(errc::shutting_down);
    w->answered = true;
    w->done = true;
    return {0, w};
  }
  auto token = next_++;
  slots_.emplace(token, w);
  return {token, w};
}

std::shared_ptr<waiter> waiter_table::take(uint64_t token) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = slots_.find(token);
  if (i == slots_.end())
    return nullptr;
  auto result = std::move(i->second);
  slots_.erase(i);
  return result;
}

void waiter_table::close(const caf::error& reason) {
  std::unordered_map<uint64_t, std::shared_ptr<waiter>> slots;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_ = true;
    slots.swap(slots_);
  }
  for (auto& kvp : slots) {
    kvp.second->err = reason;
    kvp.second->finish();
  }
}

} // namespace cafray::detail
