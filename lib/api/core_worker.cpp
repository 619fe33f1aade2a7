#include "api/core_worker.hpp"

#include <algorithm>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "proto/guards.hpp"
#include "worker/executor.hpp"

namespace cafray {

namespace {

using core_pointer = core_worker_actor::stateful_pointer<core_worker_state>;

object_payload actor_died_payload(const actor_id& actor, const object_id& id,
                                  const std::string& why) {
  task_spec spec;
  spec.id = id.task;
  spec.actor = actor;
  spec.function = "actor " + to_string(actor);
  return make_error_payload(errc::actor_died, spec, why);
}

void fail_pending(core_pointer self, core_worker_state::actor_calls& entry,
                  const std::string& why) {
  entry.dead = true;
  for (auto& id : entry.pending)
    caf::anon_send(self->state.store, put_atom_v, id,
                   actor_died_payload(entry.id, id, why));
  entry.pending.clear();
}

template <class T>
void finish(core_pointer self, uint64_t token, T&& fill) {
  if (auto w = self->state.waiters->take(token)) {
    fill(*w);
    w->finish();
  }
}

} // namespace

core_worker_actor::behavior_type
core_worker(core_pointer self, object_store_actor store, raylet_actor raylet,
            std::shared_ptr<detail::waiter_table> waiters,
            std::shared_ptr<detail::submit_queue> submissions,
            std::shared_ptr<detail::release_queue> releases) {
  self->state.store = std::move(store);
  self->state.raylet = std::move(raylet);
  self->state.waiters = std::move(waiters);
  self->state.submissions = std::move(submissions);
  self->state.releases = std::move(releases);
  install_guards(self);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.hosts.find(msg.source);
    if (i == st.hosts.end())
      return;
    auto j = st.calls.find(i->second);
    if (j != st.calls.end())
      fail_pending(self, j->second,
                   "the actor died: " + self->system().render(msg.reason));
  });
  return {
    [=](call_atom, const caf::actor& host, task_spec& spec) {
      auto& st = self->state;
      auto id = spec.return_id();
      if (!host) {
        caf::anon_send(st.store, put_atom_v, id,
                       actor_died_payload(spec.actor, id, "no such actor"));
        return;
      }
      auto [i, added] = st.calls.try_emplace(spec.actor);
      auto& entry = i->second;
      if (added) {
        entry.id = spec.actor;
        st.hosts.emplace(host.address(), spec.actor);
        self->monitor(host);
      }
      if (entry.dead) {
        caf::anon_send(st.store, put_atom_v, id,
                       actor_died_payload(spec.actor, id,
                                          "the actor is dead"));
        return;
      }
      entry.pending.push_back(id);
      caf::anon_send(caf::actor_cast<actor_host_actor>(host), call_atom_v,
                     std::move(spec), caf::actor_cast<caf::actor>(self));
    },
    [=](submit_atom) {
      auto& st = self->state;
      for (auto batch = st.submissions->take(); !batch.empty();
           batch = st.submissions->take())
        caf::anon_send(st.raylet, submit_atom_v, std::move(batch));
    },
    [=](release_atom) {
      auto& st = self->state;
      auto items = st.releases->take();
      if (!items.sealed.empty())
        caf::anon_send(st.store, put_atom_v, std::move(items.sealed),
                       std::move(items.payloads));
      if (!items.released.empty())
        caf::anon_send(st.store, release_atom_v, std::move(items.released));
    },
    [=](call_result_atom, const actor_id& actor, const object_id& id,
        object_payload& payload) {
      auto& st = self->state;
      auto i = st.calls.find(actor);
      if (i != st.calls.end() && !i->second.pending.empty()
          && i->second.pending.front() == id)
        i->second.pending.pop_front();
      auto j = st.single_gets.find(id);
      if (j != st.single_gets.end()) {
        for (auto token : j->second)
          finish(self, token, [&](detail::waiter& w) {
            w.payloads = std::vector<object_payload>{payload};
          });
        st.single_gets.erase(j);
      }
      caf::anon_send(st.store, put_atom_v, id, std::move(payload));
    },
    [=](get_atom, std::vector<object_id>& ids, caf::timespan timeout,
        uint64_t token) {
      // The store answers in any case (value, error or timeout); a waiter
      // that an actor call's result completed first is gone by then.
      object_id single;
      if (ids.size() == 1) {
        single = ids.front();
        self->state.single_gets[single].push_back(token);
      }
      auto forget = [=] {
        if (single.nil())
          return;
        auto& gets = self->state.single_gets;
        auto i = gets.find(single);
        if (i == gets.end())
          return;
        auto& tokens = i->second;
        tokens.erase(std::remove(tokens.begin(), tokens.end(), token),
                     tokens.end());
        if (tokens.empty())
          gets.erase(i);
      };
      self
        ->request(self->state.store, caf::infinite, get_atom_v, std::move(ids),
                  timeout)
        .then(
          [=](std::vector<object_payload>& payloads) {
            forget();
            finish(self, token,
                   [&](detail::waiter& w) { w.payloads = std::move(payloads); });
          },
          [=](caf::error& err) {
            forget();
            finish(self, token, [&](detail::waiter& w) { w.err = err; });
          });
    },
    [=](wait_atom, std::vector<object_id>& ids, uint64_t num_ready,
        caf::timespan timeout, uint64_t token) {
      self
        ->request(self->state.store, caf::infinite, wait_atom_v,
                  std::move(ids), num_ready, timeout)
        .then(
          [=](std::vector<uint8_t>& flags) {
            finish(self, token,
                   [&](detail::waiter& w) { w.flags = std::move(flags); });
          },
          [=](caf::error& err) {
            finish(self, token, [&](detail::waiter& w) { w.err = err; });
          });
    },
  };
}

} // namespace cafray

namespace cafray {

core_worker_actor
spawn_core_worker(caf::actor_system& sys, object_store_actor store,
                  raylet_actor raylet,
                  std::shared_ptr<detail::waiter_table> waiters,
                  std::shared_ptr<detail::submit_queue> submissions,
                  std::shared_ptr<detail::release_queue> releases) {
  return sys.spawn(core_worker, std::move(store), std::move(raylet),
                   std::move(waiters), std::move(submissions),
                   std::move(releases));
}

} // namespace cafray
