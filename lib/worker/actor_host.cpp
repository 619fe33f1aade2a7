#include "worker/actor_host.hpp"

#include <chrono>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "proto/guards.hpp"
#include "proto/tell.hpp"
#include "proto/record_codec.hpp"
#include "worker/executor.hpp"
#include "worker/worker.hpp"

namespace cafray {

namespace {

using host_pointer = actor_host_actor::stateful_pointer<actor_host_state>;

void enqueue(host_pointer self, task_spec spec, caf::actor reply_to) {
  auto& st = self->state;
  hosted_call call;
  call.resolved.resize(spec.args.size());
  call.filled.resize(spec.args.size(), 0);
  for (auto& arg : spec.args) {
    if (arg.kind == static_cast<uint8_t>(arg_kind::resolved)) {
      ++call.missing;
      caf::anon_send(st.store, subscribe_atom_v, arg.ref,
                     caf::actor_cast<object_listener_actor>(self));
    }
  }
  call.spec = std::move(spec);
  call.reply_to = std::move(reply_to);
  st.queue.emplace_back(std::move(call));
}

void run(host_pointer self, hosted_call& call) {
  auto& st = self->state;
  if (!st.constructed) {
    // The first entry is always the constructor.
    st.constructed = true;
    if (!st.cls) {
      st.failure = make_error_payload(errc::unknown_actor_class, call.spec,
                                      "no actor class named '"
                                        + call.spec.function + "'");
    } else {
      task_context_guard guard{&st.ctx};
      st.ctx.current = call.spec.id;
      st.instance = construct_instance(*st.cls, call.spec, call.resolved,
                                       st.failure);
    }
    if (st.failure.failed())
      report_error(st.gcs, st.failure.error);
    return;
  }
  object_payload result;
  if (!st.instance) {
    // Every call on an actor whose constructor failed fails the same way.
    result = st.failure;
    result.error.task = call.spec.id;
  } else {
    task_context_guard guard{&st.ctx};
    st.ctx.current = call.spec.id;
    st.ctx.submitted = 0;
    result = run_method(*st.cls, st.instance.get(), call.spec, call.resolved);
    if (result.failed())
      report_error(st.gcs, result.error);
  }
  // Small results in embedded mode are published final: the core worker
  // then tells the store nothing (see local_objects::publishes).
  if (st.arena && st.arena->publishes(result))
    st.arena->publish(call.spec.return_id(), result);
  else if (st.arena)
    st.arena->insert(call.spec.return_id(), result);
  if (!st.batching) {
    tell(self, caf::actor_cast<core_worker_actor>(call.reply_to),
         call_result_atom_v, call.spec.actor, call.spec.return_id(),
         std::move(result));
    return;
  }
  auto& rs = st.replies;
  if (rs.empty() || rs.back().to != call.reply_to)
    rs.push_back(host_replies{call.reply_to, call.spec.actor, {}, {}});
  rs.back().ids.push_back(call.spec.return_id());
  rs.back().payloads.push_back(std::move(result));
}

/// Sends the results gathered while a batch ran, one message per caller.
void reply(host_pointer self) {
  auto& st = self->state;
  for (auto& r : st.replies) {
    auto to = caf::actor_cast<core_worker_actor>(r.to);
    if (r.ids.size() == 1)
      tell(self, to, call_result_atom_v, r.actor, r.ids.front(),
           std::move(r.payloads.front()));
    else
      tell(self, to, call_result_atom_v, r.actor, std::move(r.ids),
           std::move(r.payloads));
  }
  st.replies.clear();
}

void drain(host_pointer self) {
  // Results wait for the rest of their batch only briefly: what the batch
  // gathered goes out once it is older than this, and before a call that
  // may run longer than this (one whose method did last time, or one never
  // seen here), since nothing can send it while that call runs.
  using clock = std::chrono::steady_clock;
  constexpr auto patience = std::chrono::microseconds{200};
  auto& st = self->state;
  auto& queue = st.queue;
  auto start = clock::now();
  auto last = start;  // when the previous call ended (one reading per call)
  while (!queue.empty() && queue.front().missing == 0) {
    auto call = std::move(queue.front());
    queue.pop_front();
    // The method of the previous call, most likely, without hashing its
    // name (the map's elements stay where they are).
    bool* ran_long = nullptr;
    if (st.last_method && call.spec.function == st.last_method->first) {
      ran_long = &st.last_method->second;
    } else if (auto i = st.ran_long.find(call.spec.function);
               i != st.ran_long.end()) {
      st.last_method = &*i;
      ran_long = &i->second;
    }
    if (st.batching && !st.replies.empty() && (!ran_long || *ran_long)) {
      reply(self);
      start = last = clock::now();
    }
    auto began = last;
    run(self, call);
    auto now = clock::now();
    last = now;
    if (ran_long)
      *ran_long = now - began > patience;
    else if (st.ran_long.size() < 1024)
      st.last_method = &*st.ran_long
                          .emplace(call.spec.function, now - began > patience)
                          .first;
    if (!st.replies.empty() && now - start > patience) {
      reply(self);
      start = last = clock::now();
    }
  }
  reply(self);
}

/// Polls the mailbox briefly before the host's thread may sleep: a caller
/// that waits for each result sends its next call within microseconds, and
/// finding it here saves the wake-up of a sleeping thread (a futex call on
/// each side) per call.
void linger(host_pointer self) {
  using clock = std::chrono::steady_clock;
  constexpr auto poll_time = std::chrono::microseconds{50};
  auto until = clock::now() + poll_time;
  while (self->mailbox().empty() && clock::now() < until)
    std::this_thread::yield();
}

} // namespace

actor_host_actor::behavior_type
actor_host(host_pointer self, task_spec creation, object_store_actor store,
           gcs_router gcs, std::shared_ptr<local_objects> arena) {
  auto& st = self->state;
  auto& reg = registry::instance();
  st.cls = reg.find_class(creation.function);
  if (!st.cls) {
    reg.load_code(creation.job.hi, creation.job.lo);
    st.cls = reg.find_class(creation.function);
  }
  st.store = std::move(store);
  st.gcs = std::move(gcs);
  st.arena = std::move(arena);
  install_guards(self);
  enqueue(self, std::move(creation), caf::actor{});
  drain(self);
  return {
    [=](call_atom, task_spec& spec, caf::actor& reply_to) {
      enqueue(self, std::move(spec), std::move(reply_to));
      drain(self);
      linger(self);
    },
    [=](call_atom, std::vector<task_spec>& specs, caf::actor& reply_to) {
      for (auto& spec : specs)
        enqueue(self, std::move(spec), reply_to);
      self->state.batching = true;
      drain(self);
      self->state.batching = false;
      linger(self);
    },
    [=](ready_atom, const object_id& id, const object_payload& payload) {
      for (auto& call : self->state.queue) {
        for (size_t i = 0; i < call.spec.args.size(); ++i) {
          auto& arg = call.spec.args[i];
          if (arg.kind == static_cast<uint8_t>(arg_kind::resolved)
              && arg.ref == id && call.filled[i] == 0) {
            call.resolved[i] = payload;
            call.filled[i] = 1;
            --call.missing;
          }
        }
      }
      drain(self);
    },
  };
}

actor_host_actor spawn_actor_host(caf::actor_system& sys, task_spec creation,
                                  object_store_actor store, gcs_router gcs,
                                  std::shared_ptr<local_objects> arena) {
  return sys.spawn<caf::detached>(actor_host, std::move(creation),
                                  std::move(store), std::move(gcs),
                                  std::move(arena));
}

} // namespace cafray
