#include "gcs/gcs_coordinator.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <caf/actor_cast.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "common/error.hpp"

namespace cafray {

namespace {

void try_remove(gcs_coordinator_pointer self, replica_id id);

void replace_missing(gcs_coordinator_pointer self);

void log(gcs_coordinator_pointer self, const std::string& what) {
  // Milliseconds of the monotonic clock, comparable with the load's history.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              chain_clock::now().time_since_epoch())
              .count();
  fmt::print(stderr, "[gcs_coordinator {} {}] {}\n", self->state.options.shard,
             ms, what);
}

/// The failure detector: removes members whose lease ran out, after
/// excusing a pause of the coordinator itself.
void check_leases(gcs_coordinator_pointer self) {
  auto& st = self->state;
  auto now = chain_clock::now();
  auto last = st.last_check;
  st.last_check = now;
  if (!st.logic)
    return;
  if (last) {
    auto late = now - *last - st.options.check_interval;
    if (late > st.options.check_interval) {
      st.logic->excuse(late);
      log(self, "the failure detector ran "
                  + std::to_string(std::chrono::duration_cast<
                                     std::chrono::milliseconds>(late)
                                     .count())
                  + " ms late: leases extended by that much");
      return;
    }
  }
  replace_missing(self);
  for (auto id : st.logic->expired()) {
    if (auto beat = st.logic->last_heartbeat(id))
      log(self, "replica " + std::to_string(id) + ": last heartbeat "
                  + std::to_string(std::chrono::duration_cast<
                                     std::chrono::milliseconds>(now - *beat)
                                     .count())
                  + " ms ago");
    try_remove(self, id);
  }
}

const char* to_string(chain_repair x) {
  static constexpr const char* names[] = {
    "none",         "wait_for_lease", "head_removed",
    "middle_removed", "tail_removed", "shard_lost",
    "join_started", "join_cancelled", "tail_joined",
  };
  return names[static_cast<size_t>(x)];
}

std::string render(const chain_config& config) {
  std::string result = "epoch " + std::to_string(config.epoch) + " [";
  for (size_t i = 0; i < config.replicas.size(); ++i)
    result += (i == 0 ? "" : " ") + std::to_string(config.replicas[i]);
  return result + "]";
}

wire::chain_configuration to_wire(gcs_coordinator_pointer self,
                                  const chain_config& config) {
  wire::chain_configuration result;
  result.shard = config.shard;
  result.epoch = config.epoch;
  for (auto id : config.replicas) {
    auto i = self->state.replicas.find(id);
    result.members.push_back(wire::chain_member{
      id, i != self->state.replicas.end() ? i->second : gcs_replica_actor{},
      {}, 0});
    if (auto j = self->state.endpoints.find(id);
        j != self->state.endpoints.end()) {
      result.members.back().host = j->second.first;
      result.members.back().port = j->second.second;
    }
  }
  return result;
}

/// Persists the configuration if the messages install one, then sends
/// them: a configuration is on disk before any replica acts on it.
void route(gcs_coordinator_pointer self, const chain_outbox& out) {
  auto& st = self->state;
  auto installs = std::any_of(out.begin(), out.end(), [](auto& envelope) {
    return std::holds_alternative<chain_install>(envelope.payload);
  });
  if (installs && !st.options.state_file.empty()
      && !save_chain_config(st.options.state_file, st.logic->config()))
    log(self, "cannot write " + st.options.state_file);
  for (auto& envelope : out) {
    auto i = st.replicas.find(envelope.to.id);
    if (i == st.replicas.end() || !i->second)
      continue;
    auto& dst = i->second;
    auto& msg = envelope.payload;
    if (auto x = std::get_if<chain_install>(&msg)) {
      self->send(dst, to_wire(self, x->config));
    } else if (auto x = std::get_if<chain_lease>(&msg)) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
        x->duration);
      self->send(dst, wire::chain_lease{x->number, ns.count()});
    } else if (auto x = std::get_if<chain_snapshot_request>(&msg)) {
      auto joiner = st.replicas.find(x->joiner);
      if (joiner == st.replicas.end())
        continue;
      wire::chain_member member{x->joiner, joiner->second, {}, 0};
      if (auto j = st.endpoints.find(x->joiner); j != st.endpoints.end()) {
        member.host = j->second.first;
        member.port = j->second.second;
      }
      self->send(dst, wire::chain_snapshot_request{x->epoch, x->attempt,
                                                   std::move(member)});
    } else if (auto x = std::get_if<chain_cancel_join>(&msg)) {
      self->send(dst, wire::chain_cancel_join{x->attempt});
    } else if (std::holds_alternative<chain_retire>(msg)) {
      self->send(dst, wire::chain_retire{envelope.to.id});
    }
  }
}

void next_join(gcs_coordinator_pointer self) {
  auto& st = self->state;
  if (!st.logic || st.logic->joiner())
    return;
  while (!st.joiners.empty()) {
    auto id = st.joiners.front();
    st.joiners.pop_front();
    auto change = st.logic->begin_join(id);
    if (change.repair == chain_repair::join_started) {
      log(self, "replica " + std::to_string(id) + " joins");
      route(self, change.messages);
      return;
    }
  }
}

/// Starts replacements until the chain and the replicas waiting to join
/// make up the configured size again.
void replace_missing(gcs_coordinator_pointer self) {
  auto& st = self->state;
  if (!st.replacing || !st.options.spawn_replacement || !st.logic
      || st.logic->config().empty())
    return;
  auto& config = st.logic->config();
  for (auto i = st.replacements.begin(); i != st.replacements.end();)
    i = config.contains(*i) ? st.replacements.erase(i) : std::next(i);
  auto now = chain_clock::now();
  if (st.replacement_failed
      && now - *st.replacement_failed < std::chrono::seconds{1})
    return;
  std::set<replica_id> coming{st.replacements.begin(), st.replacements.end()};
  coming.insert(st.joiners.begin(), st.joiners.end());
  if (auto id = st.logic->joiner())
    coming.insert(*id);
  auto wanted = st.options.replicas.size();
  while (config.replicas.size() + coming.size() < wanted) {
    auto id = ++st.last_id;
    log(self, "starts replica " + std::to_string(id) + " as a replacement");
    auto replica = st.options.spawn_replacement(
      id, caf::actor_cast<gcs_coordinator_actor>(self));
    if (!replica) {
      log(self, "cannot start replica " + std::to_string(id));
      st.replacement_failed = now;
      return;
    }
    // Should it die before it announced itself, it is replaced in turn.
    self->monitor(replica);
    st.monitored[replica.address()] = id;
    st.replacements.insert(id);
    coming.insert(id);
  }
}

void try_remove(gcs_coordinator_pointer self, replica_id id) {
  auto& st = self->state;
  if (!st.logic || st.waiting_removals.count(id) > 0)
    return;
  auto& config = st.logic->config();
  if (config.replicas.size() == 1 && config.contains(id)) {
    // Removing the last replica loses the shard; keeping it lets the
    // replica come back (restarted with the same id and directory).
    log(self, "the last replica " + std::to_string(id) + " is unresponsive");
    return;
  }
  auto change = st.logic->remove(id);
  if (change.repair == chain_repair::wait_for_lease) {
    st.waiting_removals.insert(id);
    auto delay = *change.not_before - chain_clock::now() + st.options.grace;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay);
    caf::delayed_anon_send(caf::actor_cast<gcs_coordinator_actor>(self),
                           std::max(ms, std::chrono::milliseconds{1}),
                           timeout_atom_v, uint64_t{id});
    return;
  }
  if (change.repair == chain_repair::none)
    return;
  log(self, "replica " + std::to_string(id) + ": "
              + to_string(change.repair) + ", now "
              + render(change.config));
  if (change.repair != chain_repair::join_cancelled)
    st.replacing = true;
  route(self, change.messages);
  next_join(self);
  replace_missing(self);
}

void start(gcs_coordinator_pointer self) {
  auto& st = self->state;
  st.logic = std::make_unique<chain_coordinator>(
    st.initial, st.options.lease, [] { return chain_clock::now(); });
  log(self, "starts with " + render(st.logic->config()));
  route(self, st.logic->start());
  // Replicas that announced themselves before the start but are not in the
  // chain (restarted after the chain lost them) join as replacements.
  for (auto& [id, handle] : st.replicas)
    if (!st.logic->config().contains(id)
        && std::find(st.joiners.begin(), st.joiners.end(), id)
             == st.joiners.end())
      st.joiners.push_back(id);
  next_join(self);
}

void on_announce(gcs_coordinator_pointer self, wire::chain_announce& msg) {
  auto& st = self->state;
  auto id = msg.self.replica;
  auto& handle = msg.self.handle;
  if (!handle)
    return;
  if (auto i = st.replicas.find(id); i != st.replicas.end()) {
    if (i->second == handle)
      return;
    log(self, "replica " + std::to_string(id) + " announced again");
  }
  st.replicas[id] = handle;
  st.last_id = std::max(st.last_id, id);
  st.endpoints[id] = {msg.self.host, msg.self.port};
  self->monitor(handle);
  st.monitored[handle.address()] = id;
  if (!st.logic) {
    auto& wanted = st.initial.replicas;
    auto all = std::all_of(wanted.begin(), wanted.end(), [&](replica_id x) {
      return st.replicas.count(x) > 0;
    });
    if (all)
      start(self);
    return;
  }
  if (st.logic->config().contains(id))
    return;
  if (std::find(st.joiners.begin(), st.joiners.end(), id) == st.joiners.end())
    st.joiners.push_back(id);
  next_join(self);
}

void on_down(gcs_coordinator_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto i = st.monitored.find(msg.source);
  if (i == st.monitored.end())
    return;
  auto id = i->second;
  st.monitored.erase(i);
  log(self, "replica " + std::to_string(id) + " is down");
  st.replacements.erase(id);
  st.joiners.erase(std::remove(st.joiners.begin(), st.joiners.end(), id),
                   st.joiners.end());
  try_remove(self, id);
}

void schedule_check(gcs_coordinator_pointer self) {
  caf::delayed_anon_send(caf::actor_cast<gcs_coordinator_actor>(self),
                         self->state.options.check_interval, tick_atom_v);
}

} // namespace

gcs_coordinator_actor::behavior_type
gcs_coordinator(gcs_coordinator_pointer self, gcs_coordinator_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.initial.shard = st.options.shard;
  st.initial.replicas = st.options.replicas;
  st.initial.epoch = 1;
  for (auto id : st.options.replicas)
    st.last_id = std::max(st.last_id, id);
  if (!st.options.state_file.empty())
    if (auto saved = load_chain_config(st.options.state_file)) {
      // Replicas keep their epoch only in memory: a higher epoch reaches
      // any that survived the coordinator.
      st.initial = *saved;
      st.initial.epoch = saved->epoch + 1;
      for (auto id : saved->replicas)
        st.last_id = std::max(st.last_id, id);
    }
  self->set_error_handler([self](caf::error& err) {
    log(self, "error message: " + cafray::render(err));
  });
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_coordinator] unexpected message: {}\n",
                 caf::to_string(msg.copy_content_to_message()));
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
  schedule_check(self);
  return {
    [self](wire::chain_announce& msg) { on_announce(self, msg); },
    [self](wire::chain_heartbeat& msg) {
      if (self->state.logic)
        route(self, self->state.logic->receive(
                      chain_address::of_replica(msg.replica),
                      chain_heartbeat{msg.replica, msg.epoch, msg.number}));
    },
    [self](wire::chain_joined& msg) {
      auto& logic = self->state.logic;
      if (!logic)
        return;
      auto out = logic->receive(chain_address::of_replica(msg.replica),
                                chain_joined{msg.replica, msg.attempt,
                                             msg.seq});
      if (!out.empty())
        log(self, "replica " + std::to_string(msg.replica) + " joined, now "
                    + render(logic->config()));
      route(self, out);
      next_join(self);
    },
    [self](get_atom) -> wire::chain_configuration {
      auto& logic = self->state.logic;
      if (!logic)
        return wire::chain_configuration{self->state.options.shard, 0, {}};
      return to_wire(self, logic->config());
    },
    [self](tick_atom) {
      check_leases(self);
      schedule_check(self);
    },
    [self](timeout_atom, uint64_t id) {
      self->state.waiting_removals.erase(id);
      try_remove(self, id);
    },
  };
}

std::optional<chain_config> load_chain_config(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  chain_config result;
  size_t count = 0;
  if (!(in >> result.shard >> result.epoch >> count))
    return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    replica_id id = 0;
    if (!(in >> id))
      return std::nullopt;
    result.replicas.push_back(id);
  }
  return result;
}

bool save_chain_config(const std::string& path, const chain_config& config) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << config.shard << ' ' << config.epoch << ' '
        << config.replicas.size();
    for (auto id : config.replicas)
      out << ' ' << id;
    out << '\n';
    out.flush();
    if (!out)
      return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

} // namespace cafray
