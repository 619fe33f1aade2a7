#include "api/core_worker.hpp"

#include <algorithm>
#include <tuple>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "api/detail/arena_client.hpp"
#include "api/detail/direct_tasks.hpp"
#include "proto/guards.hpp"
#include "proto/tell.hpp"
#include "worker/executor.hpp"

namespace cafray {

object_payload actor_died_payload(const actor_id& actor, const object_id& id,
                                  const std::string& why) {
  task_spec spec;
  spec.id = id.task;
  spec.actor = actor;
  spec.function = "actor " + to_string(actor);
  return make_error_payload(errc::actor_died, spec, why);
}

void core_worker_state::keep(const object_id& id, object_payload payload) {
  if (!objects || released.count(id) != 0)
    return;
  objects->insert(id, std::move(payload));
}

void core_worker_state::forget_released(const object_id& id) {
  // At most this many remembered: a result still on its way after that
  // many later releases is rare, and costs only its bytes.
  constexpr size_t capacity = size_t{1} << 16;
  objects->erase(id);
  if (!released.insert(id).second)
    return;
  released_order.push_back(id);
  if (released_order.size() > capacity) {
    released.erase(released_order.front());
    released_order.pop_front();
  }
}

namespace {

using core_pointer = core_worker_actor::stateful_pointer<core_worker_state>;

template <class T>
void finish(core_pointer self, uint64_t token, T&& fill) {
  if (auto w = self->state.waiters->take(token)) {
    fill(*w);
    w->finish();
  }
}

/// A hosted actor answered a call this process made.
void call_finished(core_pointer self, const actor_id& actor,
                   const object_id& id, object_payload payload) {
  auto& st = self->state;
  st.calls->done(actor, id);
  auto j = st.single_gets.find(id);
  if (j != st.single_gets.end()) {
    for (auto token : j->second)
      finish(self, token, [&](detail::waiter& w) {
        w.payloads = std::vector<object_payload>{payload};
      });
    st.single_gets.erase(j);
  }
  if (st.direct_results)
    st.keep(id, payload);
  // A driver owns it (the store gets it if it leaves), unless nobody wants
  // it any more.
  if (st.direct) {
    if (st.released.count(id) == 0)
      st.direct->adopt(id, payload);
    return;
  }
  // Published final by a host in this process: the store never hears.
  if (!st.objects || !st.objects->publishes(payload))
    tell(self, st.store, put_atom_v, id, std::move(payload));
}

} // namespace

core_worker_actor::behavior_type
core_worker(core_pointer self, object_store_actor store, raylet_actor raylet,
            std::shared_ptr<detail::waiter_table> waiters,
            std::shared_ptr<detail::submit_queue> submissions,
            std::shared_ptr<detail::release_queue> releases,
            std::shared_ptr<detail::actor_call_table> calls,
            std::shared_ptr<detail::arena_client> arena,
            std::shared_ptr<local_objects> objects, bool direct_results,
            std::shared_ptr<detail::direct_tasks> direct) {
  self->state.direct_results = direct_results && objects != nullptr;
  if (self->state.direct_results)
    self->state.direct = std::move(direct);
  self->state.arena = std::move(arena);
  self->state.objects = std::move(objects);
  self->state.store = std::move(store);
  self->state.raylet = std::move(raylet);
  self->state.waiters = std::move(waiters);
  self->state.submissions = std::move(submissions);
  self->state.releases = std::move(releases);
  self->state.calls = std::move(calls);
  install_guards(self);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto why = "the actor died: " + self->system().render(msg.reason);
    auto [actor, ids] = st.calls->fail(msg.source, why);
    for (auto& id : ids)
      caf::anon_send(st.store, put_atom_v, id,
                     actor_died_payload(actor, id, why));
  });
  return {
    [=](call_atom, const caf::actor& host, task_spec& spec) {
      // Calls that could not go straight to the host: the first ones (the
      // host is watched from now on) and those made while some were here.
      auto& st = self->state;
      auto actor = spec.actor;
      if (!host) {
        auto id = spec.return_id();
        st.calls->done(actor, id);
        st.calls->forwarded(actor);
        caf::anon_send(st.store, put_atom_v, id,
                       actor_died_payload(actor, id, "no such actor"));
        return;
      }
      if (st.calls->watch(actor, host.address()))
        self->monitor(host);
      tell(self, caf::actor_cast<actor_host_actor>(host), call_atom_v,
           std::move(spec), caf::actor_cast<caf::actor>(self));
      st.calls->forwarded(actor);
    },
    [=](submit_atom) {
      auto& st = self->state;
      for (auto batch = st.submissions->take(); !batch.empty();
           batch = st.submissions->take()) {
        if (st.direct_results)
          tell(self, st.raylet, submit_atom_v, std::move(batch),
               caf::actor_cast<caf::actor>(self));
        else
          tell(self, st.raylet, submit_atom_v, std::move(batch));
      }
    },
    [=](release_atom) {
      auto& st = self->state;
      auto items = st.releases->take();
      if (st.direct_results)
        for (auto& id : items.released)
          st.forget_released(id);
      if (!items.sealed.empty())
        tell(self, st.store, put_atom_v, std::move(items.sealed),
             std::move(items.payloads));
      if (!items.released.empty())
        tell(self, st.store, release_atom_v, std::move(items.released));
    },
    [=](call_atom, const actor_id& actor) {
      auto& st = self->state;
      // A host gone meanwhile fails these calls through the down handler.
      for (auto [host, batch] = st.calls->take(actor); !batch.empty();
           std::tie(host, batch) = st.calls->take(actor))
        if (host)
          tell(self, caf::actor_cast<actor_host_actor>(host), call_atom_v,
               std::move(batch), caf::actor_cast<caf::actor>(self));
    },
    [=](call_result_atom, const actor_id& actor, const object_id& id,
        object_payload& payload) {
      call_finished(self, actor, id, std::move(payload));
    },
    [=](call_result_atom, const actor_id& actor, std::vector<object_id>& ids,
        std::vector<object_payload>& payloads) {
      for (size_t i = 0; i < ids.size() && i < payloads.size(); ++i)
        call_finished(self, actor, ids[i], std::move(payloads[i]));
    },
    [=](ready_atom, std::vector<object_id>& ids,
        std::vector<object_payload>& payloads) {
      // Results of this process's tasks, straight from their workers (the
      // store gets them from there too).
      auto& st = self->state;
      if (!st.direct_results)
        return;
      for (size_t i = 0; i < ids.size() && i < payloads.size(); ++i)
        st.keep(ids[i], std::move(payloads[i]));
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
      auto& arena = self->state.arena;
      if (arena && arena->attached()) {
        // Objects in the node's arena come as their place: read in place.
        auto client = arena->client();
        self
          ->request(self->state.store, caf::infinite, get_atom_v, client, ids,
                    timeout)
          .then(
            [=](arena_objects& x) {
              forget();
              auto& arena = self->state.arena;
              for (size_t i = 0; i < x.payloads.size() && i < ids.size(); ++i)
                if (i < x.offsets.size()
                    && x.offsets[i] != arena_objects::no_offset)
                  x.payloads[i].data = arena->adopt(ids[i], x.offsets[i],
                                                    x.sizes[i]);
              finish(self, token, [&](detail::waiter& w) {
                w.payloads = std::move(x.payloads);
              });
            },
            [=](caf::error& err) {
              forget();
              finish(self, token, [&](detail::waiter& w) { w.err = err; });
            });
        return;
      }
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
                  std::shared_ptr<detail::release_queue> releases,
                  std::shared_ptr<detail::actor_call_table> calls,
                  std::shared_ptr<detail::arena_client> arena,
                  std::shared_ptr<local_objects> objects,
                  bool direct_results,
                  std::shared_ptr<detail::direct_tasks> direct) {
  return sys.spawn(core_worker, std::move(store), std::move(raylet),
                   std::move(waiters), std::move(submissions),
                   std::move(releases), std::move(calls), std::move(arena),
                   std::move(objects), direct_results, std::move(direct));
}

} // namespace cafray
