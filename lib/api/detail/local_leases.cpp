#include "api/detail/local_leases.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "worker/worker.hpp"

namespace cafray::detail {

bool leasable(const task_spec& spec, const resource_map& demand) {
  if (spec.kind != static_cast<uint8_t>(task_kind::normal)
      || spec.num_returns != 1 || spec.resources != demand)
    return false;
  for (auto& arg : spec.args)
    if (arg.kind != static_cast<uint8_t>(arg_kind::value))
      return false;
  return true;
}

local_leases::local_leases(config cfg)
  : cfg_(std::move(cfg)), group_(std::make_shared<lease_group>()) {
}

local_leases::~local_leases() {
  // The workers end the leases themselves once idle (or stopped).
}

size_t local_leases::leases() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_.size();
}

uint64_t local_leases::submitted() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return submitted_;
}

local_leases::lease local_leases::acquire() {
  std::vector<worker_lease> granted;
  {
    caf::scoped_actor self{*cfg_.sys};
    self
      ->request(cfg_.raylet, std::chrono::seconds{1}, lease_atom_v,
                cfg_.demand, uint32_t{1})
      .receive([&](std::vector<worker_lease>& x) { granted = std::move(x); },
               [&](caf::error&) {
                 // None: the raylet's path it is.
               });
  }
  if (granted.empty())
    return {};
  // A worker that is not this process's (no queue here) ends the lease
  // itself once idle.
  auto& g = granted.front();
  auto q = local_task_queue(cfg_.raylet.address(), g.worker);
  if (!q)
    return {};
  q->set_group(g.token, group_);
  group_->add(q);
  lease result;
  result.queue = std::move(q);
  result.token = g.token;
  return result;
}

bool local_leases::submit(task_spec& spec) {
  using clock = std::chrono::steady_clock;
  if (!leasable(spec, cfg_.demand))
    return false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool grow = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      lease* best = nullptr;
      for (auto& x : open_)
        if (!best || x.depth < best->depth)
          best = &x;
      // Another worker once the ones held have work queued.
      grow = (!best || (best->depth >= 2 && open_.size() < cfg_.max_leases))
             && !acquiring_ && clock::now() >= next_try_;
      if (grow) {
        acquiring_ = true;
      } else if (best) {
        task_queue::item x;
        x.spec = std::move(spec);
        size_t depth = 0;
        if (best->queue->push_leased(best->token, x, depth)) {
          best->depth = depth;
          ++submitted_;
          return true;
        }
        // Ended (idle, revoked) or blocked: the worker ends it itself.
        spec = std::move(x.spec);
        group_->remove(best->queue.get());
        open_.erase(open_.begin() + (best - open_.data()));
        continue;
      } else {
        return false;
      }
    }
    auto fresh = acquire();
    std::lock_guard<std::mutex> guard{mtx_};
    acquiring_ = false;
    if (fresh.queue) {
      open_.push_back(std::move(fresh));
    } else {
      // None to be had: ask again a little later, not per task.
      next_try_ = clock::now() + std::chrono::milliseconds{20};
      if (open_.empty())
        return false;
    }
  }
  return false;
}

} // namespace cafray::detail
