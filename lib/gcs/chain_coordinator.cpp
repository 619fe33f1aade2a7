#include "gcs/chain_coordinator.hpp"

#include <algorithm>

namespace cafray {

chain_coordinator::chain_coordinator(chain_config initial,
                                     chain_clock::duration lease,
                                     clock_function clock)
  : config_(std::move(initial)), lease_(lease), clock_(std::move(clock)) {
  // Epoch 0 is what a replica has before its first configuration.
  if (config_.epoch == 0)
    config_.epoch = 1;
  // Nothing is granted yet, so the first leases are measured from here.
  auto now = clock_();
  for (auto id : config_.replicas)
    granted_[id] = now;
  if (!config_.empty())
    ever_tail_.insert(config_.tail());
}

chain_outbox chain_coordinator::start() {
  chain_outbox out;
  for (auto id : config_.replicas)
    send(id, chain_install{config_}, out);
  return out;
}

chain_outbox chain_coordinator::receive(const chain_address& from,
                                        const chain_payload& msg) {
  chain_outbox out;
  if (auto x = std::get_if<chain_heartbeat>(&msg)) {
    if (config_.contains(x->replica)) {
      granted_[x->replica] = clock_();
      // It installed the current configuration, in which it is not the
      // tail: it acknowledges nothing and serves no read from now on, so
      // it can be removed at once should it die.
      if (x->epoch == config_.epoch && config_.tail() != x->replica)
        ever_tail_.erase(x->replica);
      // The install goes first so that the lease finds the replica in its
      // current role.
      if (x->epoch < config_.epoch)
        send(x->replica, chain_install{config_}, out);
      send(x->replica, chain_lease{x->number, lease_}, out);
    } else if (removed_.count(x->replica) > 0) {
      send(x->replica, chain_retire{}, out);
    }
  } else if (auto x = std::get_if<chain_joined>(&msg)) {
    if (!join_ || join_->joiner != x->replica || join_->attempt != x->attempt)
      return out;
    chain_reconfiguration result;
    auto next = config_;
    next.replicas.push_back(x->replica);
    granted_[x->replica] = clock_();
    ever_tail_.insert(x->replica);
    join_.reset();
    result.repair = chain_repair::tail_joined;
    install(std::move(next), result);
    out = std::move(result.messages);
  }
  return out;
}

chain_reconfiguration chain_coordinator::remove(replica_id dead) {
  chain_reconfiguration result;
  result.config = config_;
  if (join_ && join_->joiner == dead) {
    if (!config_.empty())
      send(config_.tail(), chain_cancel_join{join_->attempt}, result.messages);
    join_.reset();
    removed_.insert(dead);
    result.repair = chain_repair::join_cancelled;
    return result;
  }
  if (!config_.contains(dead))
    return result;
  if (ever_tail_.count(dead) > 0) {
    auto until = granted_[dead] + lease_;
    if (clock_() < until) {
      result.repair = chain_repair::wait_for_lease;
      result.not_before = until;
      return result;
    }
  }
  if (config_.replicas.size() == 1)
    result.repair = chain_repair::shard_lost;
  else if (config_.head() == dead)
    result.repair = chain_repair::head_removed;
  else if (config_.tail() == dead)
    result.repair = chain_repair::tail_removed;
  else
    result.repair = chain_repair::middle_removed;
  auto next = config_;
  next.replicas.erase(
      std::find(next.replicas.begin(), next.replicas.end(), dead));
  granted_.erase(dead);
  ever_tail_.erase(dead);
  removed_.insert(dead);
  // Should the replica only be paused, it learns on resuming that it is out.
  send(dead, chain_retire{}, result.messages);
  if (!next.empty())
    ever_tail_.insert(next.tail());
  install(std::move(next), result);
  // A snapshot request of the old epoch may be dropped as stale, and the
  // tail may have changed: ask again.
  if (join_ && !config_.empty())
    request_snapshot(result);
  else
    join_.reset();
  return result;
}

chain_reconfiguration chain_coordinator::begin_join(replica_id joiner) {
  chain_reconfiguration result;
  result.config = config_;
  if (join_ || config_.empty() || config_.contains(joiner)
      || removed_.count(joiner) > 0)
    return result;
  join_ = join_state{joiner, 0};
  request_snapshot(result);
  result.repair = chain_repair::join_started;
  return result;
}

std::vector<replica_id> chain_coordinator::expired() const {
  std::vector<replica_id> result;
  auto now = clock_();
  bool any_alive = false;
  for (auto& [id, granted] : granted_) {
    if (!config_.contains(id))
      continue;
    if (now >= granted + lease_)
      result.push_back(id);
    else
      any_alive = true;
  }
  if (!any_alive)
    result.clear();
  return result;
}

void chain_coordinator::excuse(chain_clock::duration pause) {
  for (auto& [id, granted] : granted_)
    granted += pause;
}

std::optional<chain_time>
chain_coordinator::last_heartbeat(replica_id id) const {
  if (auto i = granted_.find(id); i != granted_.end())
    return i->second;
  return std::nullopt;
}

std::optional<replica_id> chain_coordinator::joiner() const {
  if (!join_)
    return std::nullopt;
  return join_->joiner;
}

void chain_coordinator::install(chain_config next,
                                chain_reconfiguration& result) {
  next.epoch = config_.epoch + 1;
  config_ = std::move(next);
  result.config = config_;
  for (auto id : config_.replicas)
    send(id, chain_install{config_}, result.messages);
}

void chain_coordinator::request_snapshot(chain_reconfiguration& result) {
  join_->attempt = ++attempts_;
  send(config_.tail(),
       chain_snapshot_request{config_.epoch, join_->attempt, join_->joiner},
       result.messages);
}

void chain_coordinator::send(replica_id to, chain_payload msg,
                             chain_outbox& out) const {
  out.push_back({chain_address::of_coordinator(), chain_address::of_replica(to),
                 std::move(msg)});
}

} // namespace cafray
