// A raylet draining: its node leaves on SIGTERM. The global scheduler
// places nothing here any more, every task queued here and not started goes
// back to it (with the core worker that owns its results), tasks that
// arrive are passed on, and the running ones finish, for a while.

#include <map>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "proto/tell.hpp"
#include "raylet/raylet_actors.hpp"

namespace cafray {

namespace {

void answer(raylet_pointer self) {
  auto& d = self->state.drain;
  if (d.answered)
    return;
  d.answered = true;
  d.promise.deliver(d.report);
}

} // namespace

caf::result<drain_report> start_drain(raylet_pointer self,
                                      uint64_t timeout_ms) {
  auto& st = self->state;
  auto& d = st.drain;
  if (d.active)
    return make_error(errc::runtime_error, "the node drains already");
  d.active = true;
  d.promise = self->make_response_promise<drain_report>();
  auto promise = d.promise;
  // First, so that the scheduler knows before any task this raylet passes
  // back reaches it (messages from one sender arrive in order).
  if (st.global)
    caf::anon_send(st.global, drain_atom_v, st.cfg.node);
  drain_hand_back(self, st.sched->take_queued());
  // Tasks queued on busy workers come back through handback_atom.
  for (auto& req : st.sched->drain_requests())
    send_steal(self, req.victim, req.count);
  // Leased workers end their leases after the running task: their drivers
  // submit the rest anew, elsewhere.
  for (uint32_t w = 0; w < st.workers.size(); ++w)
    if (st.workers[w] && st.sched->leased(w))
      caf::anon_send(st.workers[w], lease_atom_v);
  caf::delayed_anon_send(caf::actor_cast<raylet_actor>(self),
                         std::chrono::milliseconds{timeout_ms}, drain_atom_v,
                         timeout_atom_v);
  drain_check(self);
  return promise;
}

void drain_hand_back(raylet_pointer self, std::vector<task_spec> specs) {
  auto& st = self->state;
  // Once answered, the node stops: what still comes back was passed on
  // at the timeout already.
  if (specs.empty() || st.drain.answered)
    return;
  st.drain.report.handed_back += specs.size();
  // One message per owner, each in the order the tasks came.
  std::map<caf::actor, std::vector<task_spec>> by_owner;
  for (auto& spec : specs) {
    // Re-recorded: the later record carries its state (lineage ledger).
    record_task(self, spec, task_state::spilled);
    caf::actor owner;
    if (auto i = st.owners.find(spec.id); i != st.owners.end()) {
      owner = std::move(i->second);
      st.owners.erase(i);
    }
    by_owner[owner].push_back(std::move(spec));
  }
  for (auto& [owner, batch] : by_owner)
    tell(self, st.global, spill_atom_v, std::move(batch), owner);
}

void drain_check(raylet_pointer self) {
  auto& st = self->state;
  if (st.drain.active && !st.drain.answered && st.sched->running() == 0)
    answer(self);
}

bool drain_takes(raylet_pointer self, std::vector<task_spec>& specs) {
  if (!self->state.drain.active)
    return false;
  drain_hand_back(self, std::move(specs));
  drain_check(self);
  return true;
}

void drain_timeout(raylet_pointer self) {
  auto& st = self->state;
  if (!st.drain.active || st.drain.answered)
    return;
  // Only worker processes tell which task runs (the first one assigned);
  // with workers on threads the running tasks end with the node.
  std::vector<task_spec> again;
  std::vector<task_spec> queued;
  if (st.cfg.worker_processes) {
    for (auto& slot : st.processes) {
      for (size_t i = 0; i < slot.assigned.size(); ++i) {
        auto spec = slot.assigned[i];
        if (i > 0) {
          // Not started; its worker's handback is still on its way.
          queued.push_back(std::move(spec));
          continue;
        }
        if (spec.max_retries <= 0) {
          ++st.drain.report.failed;
          fail_lost_task(self, spec,
                         "the node drained and stopped before the task "
                         "finished, and no retries were left");
          continue;
        }
        --spec.max_retries;
        ++st.drain.report.retried;
        again.push_back(std::move(spec));
      }
      slot.assigned.clear();
      slot.unsent.clear();
    }
  }
  drain_hand_back(self, std::move(queued));
  // Counted as retried, not handed back.
  auto retried = again.size();
  drain_hand_back(self, std::move(again));
  st.drain.report.handed_back -= retried;
  answer(self);
}

} // namespace cafray
