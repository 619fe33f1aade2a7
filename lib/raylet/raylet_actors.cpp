#include "raylet/raylet_actors.hpp"

#include <chrono>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "proto/record_codec.hpp"

namespace cafray {

namespace {

/// An actor's process that has not reported its actor by then is given up.
constexpr auto actor_start_timeout = std::chrono::seconds{20};

void record_actor(raylet_pointer self, const actor_record& rec) {
  auto& st = self->state;
  st.actor_records[rec.id] = rec;
  auto key = to_key(task_id{rec.id.hi, rec.id.lo});
  st.gcs.put_batch(gcs_table::actors, {kv_entry{key, encode_record(rec)}});
  if (!rec.name.empty() && rec.state != static_cast<uint8_t>(actor_state::dead))
    st.gcs.put_batch(gcs_table::actor_names, {kv_entry{rec.name, key}});
}

/// Watches a running actor and records it alive.
actor_location track_actor(raylet_pointer self, actor_location loc,
                           const task_spec& spec) {
  auto& st = self->state;
  self->monitor(loc.handle);
  st.actors[spec.actor] = loc.handle;
  st.actor_by_addr[loc.handle.address()] = spec.actor;
  st.locations[spec.actor] = loc;
  actor_record rec;
  rec.id = spec.actor;
  rec.class_name = spec.function;
  rec.name = spec.name;
  rec.state = static_cast<uint8_t>(actor_state::alive);
  rec.node = st.cfg.node;
  rec.job = spec.job;
  rec.address = loc.address;
  rec.pid = loc.pid;
  record_actor(self, rec);
  return loc;
}

bool is_class(const task_spec& spec) {
  return spec.kind == static_cast<uint8_t>(task_kind::actor_create);
}

/// Every resource in `demand` is free in `available`.
bool free_now(const resource_map& available, const resource_map& demand) {
  for (auto& [name, amount] : demand) {
    if (amount <= 0)
      continue;
    auto i = available.find(name);
    if (i == available.end() || i->second < amount)
      return false;
  }
  return true;
}

/// An actor inside this node's process (embedded mode, or worker
/// processes off): it holds no resources.
caf::result<actor_location> start_in_process(raylet_pointer self,
                                             task_spec& spec) {
  auto& st = self->state;
  actor_location loc;
  loc.node = st.cfg.node;
  if (is_class(spec)) {
    loc.handle = st.cfg.factory.actor_host(spec);
  } else {
    auto handle = st.cfg.factory.behavior(spec);
    if (!handle)
      return std::move(handle.error());
    loc.handle = std::move(*handle);
  }
  record_task(self, spec, task_state::running);
  return track_actor(self, std::move(loc), spec);
}

/// Starts the processes of the creations whose resources are free now.
void start_waiting(raylet_pointer self) {
  auto& st = self->state;
  for (auto& id : st.actor_procs.startable(*st.sched)) {
    auto slot = st.actor_procs.find(id);
    auto pid = st.cfg.factory.actor_process(slot->spec);
    if (pid <= 0) {
      actor_start_failed(self, id,
                         make_error(errc::runtime_error,
                                    "cannot start a worker process for "
                                    "actor "
                                      + to_string(id)));
      continue;
    }
    st.actor_procs.started(id, pid);
    caf::delayed_anon_send(caf::actor_cast<raylet_actor>(self),
                           actor_start_timeout, timeout_atom_v, id);
  }
}

std::string host_of(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

} // namespace

caf::result<actor_location> start_actor(raylet_pointer self, task_spec& spec,
                                        bool may_place) {
  auto& st = self->state;
  auto feasible = st.sched->feasible(spec.resources);
  auto processes = static_cast<bool>(st.cfg.factory.actor_process);
  // A draining node hosts no new actor: the global scheduler places it.
  if (st.global
      && (st.drain.active
          || (may_place && st.cluster_size > 1
              && (!feasible
                  || (processes
                      && !free_now(st.sched->available(), spec.resources))))))
    return self->delegate(st.global, place_actor_atom_v, std::move(spec));
  if (!feasible)
    return make_error(errc::infeasible, "no node offers the resources of "
                                        "actor "
                                          + spec.function);
  if (!processes)
    return start_in_process(self, spec);
  auto id = spec.actor;
  if (!st.actor_procs.add(spec))
    return make_error(errc::runtime_error,
                      "actor " + to_string(id) + " exists already");
  auto promise = self->make_response_promise<actor_location>();
  st.actor_waiters.emplace(id, promise);
  start_waiting(self);
  return promise;
}

caf::result<task_spec> actor_attach(raylet_pointer self, const actor_id& id,
                                    int32_t) {
  auto slot = self->state.actor_procs.find(id);
  if (!slot || slot->state != actor_slots::phase::starting)
    return make_error(errc::actor_died,
                      "no actor " + to_string(id) + " is starting here");
  return slot->spec;
}

void actor_registered(raylet_pointer self, const actor_id& id,
                      caf::actor handle, uint16_t port) {
  auto& st = self->state;
  auto slot = st.actor_procs.find(id);
  if (!slot || !st.actor_procs.alive(id) || st.stopping) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    return;
  }
  auto spec = slot->spec;
  record_task(self, spec, task_state::running);
  actor_location loc;
  loc.handle = std::move(handle);
  loc.node = st.cfg.node;
  loc.address = host_of(st.cfg.address) + ":" + std::to_string(port);
  loc.pid = slot->pid;
  loc = track_actor(self, std::move(loc), spec);
  if (auto i = st.actor_waiters.find(id); i != st.actor_waiters.end()) {
    i->second.deliver(loc);
    st.actor_waiters.erase(i);
  }
}

void actor_start_failed(raylet_pointer self, const actor_id& id,
                        caf::error err) {
  auto& st = self->state;
  auto slot = st.actor_procs.remove(id, *st.sched);
  if (!slot)
    return;
  fmt::print(stderr, "[raylet] actor {}: {}\n", to_string(id), render(err));
  if (slot->pid > 0 && st.cfg.factory.stop_process)
    st.cfg.factory.stop_process(slot->pid);
  if (auto i = st.actor_waiters.find(id); i != st.actor_waiters.end()) {
    i->second.deliver(std::move(err));
    st.actor_waiters.erase(i);
  }
  start_waiting(self);
}

bool actor_down(raylet_pointer self, const caf::actor_addr& source) {
  auto& st = self->state;
  auto i = st.actor_by_addr.find(source);
  if (i == st.actor_by_addr.end())
    return false;
  auto id = i->second;
  st.actor_by_addr.erase(i);
  st.actors.erase(id);
  st.locations.erase(id);
  if (auto slot = st.actor_procs.remove(id, *st.sched)) {
    // Its process ends with it (or died first); what it held is free.
    if (slot->pid > 0 && st.cfg.factory.stop_process)
      st.cfg.factory.stop_process(slot->pid);
    if (!st.stopping)
      start_waiting(self);
  }
  auto j = st.actor_records.find(id);
  if (j == st.actor_records.end())
    return true;
  auto rec = j->second;
  rec.state = static_cast<uint8_t>(actor_state::dead);
  record_actor(self, rec);
  if (!rec.name.empty() && !st.gcs.empty())
    caf::anon_send(st.gcs.shard_for(rec.name), delete_atom_v,
                   static_cast<uint8_t>(gcs_table::actor_names), rec.name);
  return true;
}

} // namespace cafray
