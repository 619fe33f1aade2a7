#include <algorithm>
#include "raylet/raylet.hpp"
#include "raylet/raylet_actors.hpp"

#include <map>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "proto/guards.hpp"
#include "proto/tell.hpp"
#include "proto/record_codec.hpp"

namespace cafray {

namespace {

int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Tells the ledger which segments closed (at most one is open at a time,
/// so the rows are the segments the ledger saw records of, in order).
void closed_segments(raylet_pointer self, const std::vector<kv_entry>& rows) {
  auto now = lineage_ledger::clock::now();
  for (auto& row : rows)
    self->state.ledger.closed(row.key, now);
}

} // namespace

void record_task(raylet_pointer self, const task_spec& spec, task_state s) {
  auto& st = self->state;
  // Only a waiting task finishes here; a spilled one runs elsewhere, an
  // actor's creation record lives as long as the actor.
  st.ledger.recorded(spec.id, s == task_state::waiting);
  st.lineage.add(spec, static_cast<uint8_t>(s), st.cfg.node, now_ns());
  // A full segment goes at once; the rest waits for the heartbeat tick.
  if (st.lineage.has_full_segment()) {
    auto rows = st.lineage.take_full();
    closed_segments(self, rows);
    st.gcs.put_batch(gcs_table::tasks, std::move(rows));
  }
}

namespace {

void flush_rows(raylet_pointer self) {
  auto& st = self->state;
  auto rows = st.lineage.take();
  if (!rows.empty()) {
    closed_segments(self, rows);
    st.gcs.put_batch(gcs_table::tasks, std::move(rows));
  }
  // Lineage compaction: finished segments past the limits leave the GCS.
  for (auto& key : st.ledger.compact(lineage_ledger::clock::now()))
    self
      ->request(st.gcs.shard_for(key), std::chrono::seconds{10}, delete_atom_v,
                static_cast<uint8_t>(gcs_table::tasks), std::move(key))
      .then([](ok_atom) {},
            [](caf::error& err) {
              fmt::print(stderr, "[raylet] lineage compaction: {}\n",
                         render(err));
            });
}

// -- worker processes ----------------------------------------------------------

/// A worker process that has not registered by then is given up.
constexpr auto worker_start_timeout = std::chrono::seconds{20};

void on_worker_down(raylet_pointer self, uint32_t w);

void start_worker(raylet_pointer self) {
  auto& st = self->state;
  auto index = st.sched->add_worker();
  // (In-process workers keep a slot too: their lease token lives there.)
  st.processes.emplace_back();
  st.workers.emplace_back(
    st.cfg.factory.worker(index, caf::actor_cast<raylet_actor>(self)));
  if (st.cfg.worker_processes)
    caf::delayed_anon_send(caf::actor_cast<raylet_actor>(self),
                           worker_start_timeout, timeout_atom_v, index);
}

void send_batch(raylet_pointer self, uint32_t w,
                std::vector<task_assignment> batch) {
  auto& st = self->state;
  if (!st.cfg.worker_processes) {
    tell(self, st.workers[w], execute_atom_v, std::move(batch));
    return;
  }
  auto& slot = st.processes[w];
  for (auto& a : batch)
    slot.assigned.push_back(a.spec);
  if (!st.workers[w]) {
    // Still starting: the batch goes out when it registers.
    for (auto& a : batch)
      slot.unsent.push_back(std::move(a));
    return;
  }
  tell(self, st.workers[w], execute_atom_v, std::move(batch));
}

/// Removes the task with this ID from a worker's books.
void forget(raylet_state::process_slot& slot, const task_id& id) {
  auto& xs = slot.assigned;
  if (!xs.empty() && xs.front().id == id) {
    xs.erase(xs.begin());
    return;
  }
  for (auto i = xs.begin(); i != xs.end(); ++i)
    if (i->id == id) {
      xs.erase(i);
      return;
    }
}

void enqueue(raylet_pointer self, task_spec spec);

} // namespace

void send_steal(raylet_pointer self, uint32_t w, uint32_t count) {
  auto& st = self->state;
  if (!st.cfg.worker_processes || st.workers[w]) {
    tell(self, st.workers[w], steal_atom_v, count);
    return;
  }
  // A worker still starting: its tasks are still here, hand them back now.
  auto& slot = st.processes[w];
  std::vector<task_spec> back;
  while (count-- > 0 && !slot.unsent.empty()) {
    back.push_back(std::move(slot.unsent.back().spec));
    slot.unsent.pop_back();
  }
  for (auto& spec : back)
    forget(slot, spec.id);
  st.sched->handed_back(w, back.size());
  if (drain_takes(self, back))
    return;
  for (auto& spec : back)
    enqueue(self, std::move(spec));
}

void fail_lost_task(raylet_pointer self, const task_spec& spec,
                    const std::string& message) {
  auto& st = self->state;
  object_payload failure;
  failure.error_code = static_cast<uint8_t>(errc::worker_died);
  failure.error.code = failure.error_code;
  failure.error.task = spec.id;
  failure.error.function = spec.function;
  failure.error.message = message;
  failure.error.time_ns = now_ns();
  report_error(st.gcs, failure.error);
  std::vector<object_id> ids;
  std::vector<object_payload> payloads;
  for (uint32_t i = 1; i <= std::max(1u, spec.num_returns); ++i) {
    ids.push_back(spec.return_id(i));
    payloads.push_back(failure);
  }
  if (auto i = st.owners.find(spec.id); i != st.owners.end()) {
    caf::anon_send(i->second, ready_atom_v, ids, payloads);
    st.owners.erase(i);
  }
  caf::anon_send(st.store, put_atom_v, std::move(ids), std::move(payloads));
  st.ledger.finished(spec.id);
}

namespace {

/// A worker process died (crashed, killed): its slot is gone; the task it
/// ran is retried while its retries last, the ones queued behind it are
/// scheduled again, and a new process takes over when work waits.
void on_worker_down(raylet_pointer self, uint32_t w) {
  auto& st = self->state;
  auto slot = std::move(st.processes[w]);
  st.processes[w] = raylet_state::process_slot{};
  st.worker_by_addr.erase(st.workers[w].address());
  st.workers[w] = nullptr;
  st.sched->worker_died(w);
  if (st.cfg.factory.reap)
    st.cfg.factory.reap(slot.pid);
  if (st.stopping)
    return;
  std::vector<task_spec> again;
  for (size_t i = 0; i < slot.assigned.size(); ++i) {
    auto& spec = slot.assigned[i];
    // Only the first one was running; the others had not started.
    if (i == 0) {
      if (spec.max_retries <= 0) {
        fail_lost_task(self, spec,
                       "the worker process running the task died and no "
                       "retries were left");
        continue;
      }
      --spec.max_retries;
    }
    again.push_back(std::move(spec));
  }
  if (drain_takes(self, again))
    return;
  for (auto& spec : again)
    enqueue(self, std::move(spec));
  dispatch(self);
}

} // namespace

namespace {

/// Tasks wait here while workers of this process serve leases: each such
/// lease ends after the tasks its driver queued already (the driver's next
/// ones come here). Worker processes' leases end when idle.
void revoke_leases(raylet_pointer self) {
  auto& st = self->state;
  if (st.cfg.worker_processes || !st.sched->leases_hold_back_ready())
    return;
  for (uint32_t w = 0; w < st.processes.size() && w < st.workers.size(); ++w) {
    auto& slot = st.processes[w];
    if (slot.lease != 0 && !slot.revoked && st.workers[w]
        && st.sched->leased(w)) {
      slot.revoked = true;
      tell(self, st.workers[w], lease_atom_v);
    }
  }
}

} // namespace

void dispatch(raylet_pointer self) {
  auto& st = self->state;
  for (int round = 0; round < 2; ++round) {
    uint32_t want = 0;
    auto assigned = st.sched->dispatch(want);
    // One message per worker per round.
    std::map<uint32_t, std::vector<task_assignment>> batches;
    for (auto& a : assigned) {
      caf::actor owner;
      if (!st.owners.empty())
        if (auto i = st.owners.find(a.spec.id); i != st.owners.end())
          owner = i->second;
      batches[a.worker].push_back(task_assignment{
        std::move(a.spec), std::move(a.resolved), std::move(owner)});
    }
    for (auto& [w, batch] : batches)
      send_batch(self, w, std::move(batch));
    for (auto& req : st.sched->steals())
      send_steal(self, req.victim, req.count);
    if (want == 0 || st.stopping)
      break;
    for (uint32_t i = 0; i < want; ++i)
      start_worker(self);
  }
  revoke_leases(self);
}

namespace {

/// Queues a feasible task, watching for the arguments it waits for.
void enqueue(raylet_pointer self, task_spec spec) {
  auto& st = self->state;
  std::vector<object_id> deps;
  st.sched->submit(std::move(spec), deps);
  if (deps.empty())
    return;
  auto listener = caf::actor_cast<object_listener_actor>(self);
  if (!st.cfg.arena) {
    for (auto& id : deps)
      caf::anon_send(st.store, subscribe_atom_v, id, listener);
    return;
  }
  auto missing = st.cfg.arena->missing(deps);
  if (st.cfg.cluster && !missing.empty())
    caf::anon_send(st.store, fetch_atom_v, missing);
  for (auto& id : deps)
    if (!std::binary_search(missing.begin(), missing.end(), id))
      if (auto payload = st.cfg.arena->find(id))
        st.sched->object_ready(id, *payload);
  if (!missing.empty()) {
    if (!st.dep_watch) {
      // Keeps only the raylet's address: the arena outlives the raylet.
      auto raylet = self->address();
      st.dep_watch = std::make_shared<forwarding_watch>(
        st.cfg.arena, [raylet](const object_id& id, object_payload payload) {
          if (auto hdl = caf::actor_cast<object_listener_actor>(raylet))
            caf::anon_send(hdl, ready_atom_v, id, std::move(payload));
        });
    }
    st.cfg.arena->watch(missing, st.dep_watch);
  }
}

/// Tasks spilled while one message is handled: they go to the global
/// scheduler together, one message for those whose results go to `owner`
/// and one for the rest.
struct spill_list {
  caf::actor owner;
  std::vector<task_spec> owned;
  std::vector<task_spec> others;
};

void send_spills(raylet_pointer self, spill_list& out) {
  auto& st = self->state;
  if (!out.owned.empty())
    tell(self, st.global, spill_atom_v, std::move(out.owned), out.owner);
  if (!out.others.empty())
    tell(self, st.global, spill_atom_v, std::move(out.others), caf::actor{});
}

/// Queues `spec` here, or hands it to the global scheduler if this node
/// cannot run it or is busy (and `may_spill`): to `out` if given (the
/// caller sends it with the others), else in a message of its own.
void admit(raylet_pointer self, task_spec& spec, bool may_spill,
           bool dispatch_now = true, spill_list* out = nullptr) {
  auto& st = self->state;
  auto busy = [&] {
    return st.cluster_size > 1 && st.cfg.spill_backlog > 0
           && spec.kind == static_cast<uint8_t>(task_kind::normal)
           && st.sched->ready() + st.sched->waiting() + st.sched->running()
                >= st.cfg.spill_backlog;
  };
  // A draining node takes nothing: what arrives goes on at once.
  if (st.drain.active || (may_spill
                          && (!st.sched->feasible(spec.resources) || busy()))) {
    if (st.drain.active)
      ++st.drain.report.redirected;
    record_task(self, spec, task_state::spilled);
    // Its owner travels with it: the node that runs it returns the result.
    auto i = st.owners.empty() ? st.owners.end() : st.owners.find(spec.id);
    if (out) {
      if (i != st.owners.end() && i->second == out->owner) {
        st.owners.erase(i);
        out->owned.emplace_back(std::move(spec));
        return;
      }
      if (i == st.owners.end()) {
        out->others.emplace_back(std::move(spec));
        return;
      }
    }
    if (i != st.owners.end()) {
      auto owner = std::move(i->second);
      st.owners.erase(i);
      caf::anon_send(st.global, spill_atom_v, std::move(spec),
                     std::move(owner));
      return;
    }
    caf::anon_send(st.global, spill_atom_v, std::move(spec));
    return;
  }
  record_task(self, spec, task_state::waiting);
  enqueue(self, std::move(spec));
  if (dispatch_now)
    dispatch(self);
}

/// Leases up to `n` idle worker processes for `demand` to a driver: each
/// is asked to serve the lease on its task channel, and the answer holds
/// those that agreed.
caf::result<std::vector<worker_lease>>
grant_leases(raylet_pointer self, const resource_map& demand, uint32_t n) {
  auto& st = self->state;
  // Workers of this process (threads) are leased to drivers of this
  // process only (they queue their tasks on them directly), and only while
  // no task waits here that a worker could run.
  if (st.drain.active || st.stopping || n == 0)
    return std::vector<worker_lease>{};
  if (!st.cfg.worker_processes) {
    auto& sender = self->current_sender();
    if (st.sched->leases_hold_back_ready() || !sender
        || sender->node() != self->node())
      return std::vector<worker_lease>{};
  }
  std::vector<uint32_t> chosen;
  std::vector<uint32_t> starting;
  while (chosen.size() < n) {
    auto w = st.sched->lease(demand);
    if (w < 0)
      break;
    if (st.workers[static_cast<uint32_t>(w)])
      chosen.push_back(static_cast<uint32_t>(w));
    else
      starting.push_back(static_cast<uint32_t>(w));
  }
  // A worker process still starting is no use to a driver now.
  for (auto w : starting)
    st.sched->task_done(w);
  if (chosen.empty())
    return std::vector<worker_lease>{};
  struct pending {
    std::vector<worker_lease> granted;
    size_t left = 0;
  };
  auto acc = std::make_shared<pending>();
  acc->left = chosen.size();
  auto rp = self->make_response_promise<std::vector<worker_lease>>();
  auto answered = [acc, rp]() mutable {
    if (--acc->left == 0)
      rp.deliver(std::move(acc->granted));
  };
  for (auto w : chosen) {
    auto token = random_id_bits().first | 1;
    st.processes[w].lease = token;
    st.processes[w].revoked = false;
    self->request(st.workers[w], std::chrono::seconds{2}, lease_atom_v, token)
      .then(
        [=](std::string& address) mutable {
          acc->granted.push_back(worker_lease{w, token, std::move(address)});
          answered();
        },
        [=](caf::error&) mutable {
          auto& st = self->state;
          if (w < st.processes.size() && st.processes[w].lease == token) {
            st.processes[w].lease = 0;
            st.sched->task_done(w);
            dispatch(self);
          }
          answered();
        });
  }
  return rp;
}

load_report make_report(raylet_pointer self) {
  auto& st = self->state;
  load_report rep;
  rep.node = st.cfg.node;
  rep.total = st.sched->total();
  rep.available = st.sched->available();
  rep.queued = st.sched->ready() + st.sched->waiting();
  rep.running = st.sched->running();
  rep.workers = st.sched->workers();
  return rep;
}

void on_actor_down(raylet_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  if (auto w = st.worker_by_addr.find(msg.source);
      w != st.worker_by_addr.end()) {
    on_worker_down(self, w->second);
    return;
  }
  if (actor_down(self, msg.source))
    dispatch(self);
}

} // namespace

raylet_actor::behavior_type
raylet(raylet_pointer self, raylet_config cfg, object_store_actor store,
       scheduler_actor global, gcs_router gcs) {
  auto& st = self->state;
  st.sched = std::make_unique<local_scheduler>(cfg.resources, cfg.max_workers,
                                               cfg.pipeline_depth);
  st.ledger = lineage_ledger{cfg.lineage};
  st.cfg = std::move(cfg);
  st.store = std::move(store);
  st.global = std::move(global);
  st.gcs = std::move(gcs);
  install_guards(self);
  self->set_down_handler(
    [=](caf::down_msg& msg) { on_actor_down(self, msg); });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& st = self->state;
    st.stopping = true;
    flush_rows(self);
    for (auto& w : st.workers)
      if (w)
        caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    for (auto& kvp : st.actors)
      caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  for (uint32_t i = 0; i < st.cfg.num_workers; ++i)
    start_worker(self);
  node_record node;
  node.id = st.cfg.node;
  node.total = st.cfg.resources;
  node.available = st.cfg.resources;
  node.address = st.cfg.address;
  node.updated_ns = now_ns();
  st.gcs.put_batch(gcs_table::nodes,
                   {kv_entry{to_key(task_id{node.id.hi, node.id.lo}),
                             encode_record(node)}});
  if (st.global)
    caf::anon_send(st.global, register_atom_v, st.cfg.node,
                   caf::actor_cast<raylet_actor>(self), st.cfg.resources);
  caf::delayed_anon_send(self, st.cfg.heartbeat, tick_atom_v);
  return {
    [=](submit_atom, task_spec& spec) { admit(self, spec, true); },
    [=](submit_atom, std::vector<task_spec>& specs) {
      spill_list spills;
      for (auto& spec : specs)
        admit(self, spec, true, false, &spills);
      send_spills(self, spills);
      dispatch(self);
    },
    [=](submit_atom, std::vector<task_spec>& specs, caf::actor& owner) {
      auto& st = self->state;
      spill_list spills;
      spills.owner = owner;
      for (auto& spec : specs) {
        if (owner && spec.kind == static_cast<uint8_t>(task_kind::normal))
          st.owners.emplace(spec.id, owner);
        admit(self, spec, true, false, &spills);
      }
      send_spills(self, spills);
      dispatch(self);
    },
    [=](place_atom, task_spec& spec) { admit(self, spec, false); },
    [=](place_atom, task_spec& spec, caf::actor& owner) {
      if (owner)
        self->state.owners.emplace(spec.id, std::move(owner));
      admit(self, spec, false);
    },
    [=](place_atom, std::vector<task_spec>& specs, caf::actor& owner) {
      auto& st = self->state;
      for (auto& spec : specs) {
        if (owner)
          st.owners.emplace(spec.id, owner);
        admit(self, spec, false, false);
      }
      dispatch(self);
    },
    [=](ready_atom, const object_id& id, const object_payload& payload) {
      self->state.sched->object_ready(id, payload);
      dispatch(self);
    },
    [=](done_atom, uint32_t worker, const std::vector<task_id>& ids) {
      // Completion is not written to the GCS: the task's object is the
      // record of it, and a row per finished task would double the GCS
      // load of every task (failures go to the errors table).
      auto& st = self->state;
      for (size_t i = 0; i < ids.size(); ++i) {
        st.sched->task_done(worker);
        st.ledger.finished(ids[i]);
      }
      if (!st.owners.empty())
        for (auto& id : ids)
          st.owners.erase(id);
      if (st.cfg.worker_processes && worker < st.processes.size())
        for (auto& id : ids)
          forget(st.processes[worker], id);
      if (st.drain.active) {
        if (!st.drain.answered)
          st.drain.report.finished += ids.size();
        drain_check(self);
      }
      dispatch(self);
    },
    [=](blocked_atom, uint32_t worker) {
      self->state.sched->worker_blocked(worker);
      dispatch(self);
    },
    [=](unblocked_atom, uint32_t worker) {
      self->state.sched->worker_unblocked(worker);
    },
    [=](handback_atom, uint32_t worker, std::vector<task_spec>& tasks) {
      auto& st = self->state;
      if (st.cfg.worker_processes && worker < st.processes.size())
        for (auto& spec : tasks)
          forget(st.processes[worker], spec.id);
      st.sched->handed_back(worker, tasks.size());
      if (drain_takes(self, tasks))
        return;
      for (auto& spec : tasks)
        enqueue(self, std::move(spec));
      dispatch(self);
    },
    [=](create_actor_atom, task_spec& spec) -> caf::result<actor_location> {
      return start_actor(self, spec, true);
    },
    [=](spawn_behavior_atom,
        task_spec& spec) -> caf::result<actor_location> {
      return start_actor(self, spec, true);
    },
    [=](place_actor_atom, task_spec& spec) -> caf::result<actor_location> {
      return start_actor(self, spec, false);
    },
    [=](lookup_atom, const actor_id& id) -> caf::result<actor_location> {
      auto& st = self->state;
      auto i = st.locations.find(id);
      if (i == st.locations.end())
        return make_error(errc::actor_died, "actor " + to_string(id));
      return i->second;
    },
    [=](attach_atom, const actor_id& id,
        int32_t pid) -> caf::result<task_spec> {
      return actor_attach(self, id, pid);
    },
    [=](register_atom, const actor_id& id, caf::actor& handle,
        uint16_t port) { actor_registered(self, id, std::move(handle), port); },
    [=](fail_atom, const actor_id& id, caf::error& err) {
      actor_start_failed(self, id, std::move(err));
    },
    [=](timeout_atom, const actor_id& id) {
      auto slot = self->state.actor_procs.find(id);
      if (slot && slot->state == actor_slots::phase::starting)
        actor_start_failed(self, id,
                           make_error(errc::runtime_error,
                                      "the worker process of actor "
                                        + to_string(id)
                                        + " did not start in time"));
    },
    [=](stats_atom) { return make_report(self); },
    [=](members_atom, uint32_t count) {
      self->state.cluster_size = count;
    },
    [=](drain_atom, uint64_t timeout_ms) -> caf::result<drain_report> {
      return start_drain(self, timeout_ms);
    },
    [=](drain_atom, timeout_atom) { drain_timeout(self); },
    [=](lease_atom, const resource_map& demand,
        uint32_t n) -> caf::result<std::vector<worker_lease>> {
      return grant_leases(self, demand, n);
    },
    [=](lease_atom, uint32_t w, uint64_t token) {
      // A late end of an earlier lease of the same worker changes nothing.
      auto& st = self->state;
      if (w >= st.processes.size() || st.processes[w].lease != token
          || !st.sched->leased(w))
        return;
      st.processes[w].lease = 0;
      st.sched->task_done(w);
      if (st.drain.active)
        drain_check(self);
      dispatch(self);
    },
    [=](timeout_atom, uint32_t index) {
      auto& st = self->state;
      if (index < st.workers.size() && !st.workers[index]
          && st.sched->status(index) != local_scheduler::worker_status::dead) {
        fmt::print(stderr, "[raylet] worker process {} did not start\n",
                   index);
        on_worker_down(self, index);
      }
    },
    [=](register_atom, uint32_t index, worker_actor& worker, int32_t pid) {
      auto& st = self->state;
      if (!st.cfg.worker_processes || index >= st.workers.size()
          || st.workers[index] || st.stopping
          || st.sched->status(index) == local_scheduler::worker_status::dead) {
        caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
        return;
      }
      self->monitor(worker);
      st.worker_by_addr[worker.address()] = index;
      st.workers[index] = worker;
      auto& slot = st.processes[index];
      slot.pid = pid;
      if (!slot.unsent.empty())
        caf::anon_send(worker, execute_atom_v, std::move(slot.unsent));
      slot.unsent.clear();
      if (slot.unsent_steal > 0)
        caf::anon_send(worker, steal_atom_v, slot.unsent_steal);
      slot.unsent_steal = 0;
    },
    [=](tick_atom) {
      auto& st = self->state;
      flush_rows(self);
      if (st.global)
        caf::anon_send(st.global, heartbeat_atom_v, make_report(self));
      if (!st.stopping)
        caf::delayed_anon_send(self, st.cfg.heartbeat, tick_atom_v);
    },
  };
}

raylet_actor spawn_raylet(caf::actor_system& sys, raylet_config cfg,
                          object_store_actor store, scheduler_actor global,
                          gcs_router gcs) {
  return sys.spawn(raylet, std::move(cfg), std::move(store),
                   std::move(global), std::move(gcs));
}

} // namespace cafray
