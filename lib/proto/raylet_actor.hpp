#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/messages.hpp"

namespace cafray {

/// Where an actor runs, as its creator or a lookup learns it. An actor in
/// a worker process of its own has that process's `address` ("host:port",
/// where it publishes the actor) and `pid`: a caller connects there
/// directly, so that the process's death reaches it as a down message.
struct actor_location {
  caf::actor handle;
  node_id node;
  std::string address;  // empty: the actor lives in its node's process
  int32_t pid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_location& x) {
  return f(caf::meta::type_name("actor_location"), x.handle, x.node,
           x.address, x.pid);
}

/// A worker executes one task at a time, in arrival order; its raylet may
/// queue several on it (pipelining). Arguments arrive resolved (one payload
/// per argument, empty for inline values). `steal` asks it to give back up
/// to that many queued tasks it has not started (newest first), answered
/// with a `handback` to its raylet, empty if nothing was left.
/// `lease` (a worker process with a task channel) makes it serve the next
/// connection that presents the token, answered with the channel's
/// "host:port"; `(lease_atom)` alone ends a lease being served (after the
/// running task).
using worker_actor = caf::typed_actor<
  caf::reacts_to<execute_atom, std::vector<task_assignment>>,
  caf::reacts_to<steal_atom, uint32_t>,
  caf::replies_to<lease_atom, uint64_t>::with<std::string>,
  caf::reacts_to<lease_atom>>;

/// A node's local scheduler: dependency waits, ready queue, resources and
/// the worker pool.
using raylet_actor = caf::typed_actor<
  // A task submitted on this node (driver or worker).
  caf::reacts_to<submit_atom, task_spec>,
  // Tasks submitted on this node, in submission order.
  caf::reacts_to<submit_atom, std::vector<task_spec>>,
  // Tasks submitted by a process whose core worker (the last argument)
  // takes their small results straight from the worker that ran them
  // (Ray's inline return to the owner); the store still gets them.
  caf::reacts_to<submit_atom, std::vector<task_spec>, caf::actor>,
  // A task the global scheduler placed here.
  caf::reacts_to<place_atom, task_spec>,
  // The same, with the core worker that takes its result.
  caf::reacts_to<place_atom, task_spec, caf::actor>,
  // Tasks the global scheduler placed here at once, in the order they were
  // spilled, with the core worker that takes their results (null: none).
  caf::reacts_to<place_atom, std::vector<task_spec>, caf::actor>,
  // An argument of a waiting task became available.
  caf::reacts_to<ready_atom, object_id, object_payload>,
  // Worker `n` finished these tasks (batched when it runs many short ones).
  caf::reacts_to<done_atom, uint32_t, std::vector<task_id>>,
  // Worker `n` blocks in get: its CPU is lent to others until unblocked.
  caf::reacts_to<blocked_atom, uint32_t>,
  caf::reacts_to<unblocked_atom, uint32_t>,
  // Worker `n` gives back tasks queued on it that it has not started
  // (because it blocked, or because the raylet asked it to steal them for
  // an idle worker); they are scheduled again.
  caf::reacts_to<handback_atom, uint32_t, std::vector<task_spec>>,
  // Starts a class-based actor host (kind actor_create) and answers with it
  // once it runs: here, or on a node the global scheduler picks when this
  // one lacks the actor's resources (cluster mode).
  caf::replies_to<create_actor_atom, task_spec>::with<actor_location>,
  // Spawns a registered typed behavior with serialized arguments (placed
  // like create_actor).
  caf::replies_to<spawn_behavior_atom, task_spec>::with<actor_location>,
  // The global scheduler placed an actor here (kind actor_create for a
  // class, anything else for a behavior): host it, never pass it on.
  caf::replies_to<place_actor_atom, task_spec>::with<actor_location>,
  // An actor this raylet hosts (fails with actor_died).
  caf::replies_to<lookup_atom, actor_id>::with<actor_location>,
  // The worker process started for an actor asks for its creation task.
  caf::replies_to<attach_atom, actor_id, int32_t>::with<task_spec>,
  // That process runs the actor and publishes it at this port of the
  // node's host.
  caf::reacts_to<register_atom, actor_id, caf::actor, uint16_t>,
  // That process could not start the actor.
  caf::reacts_to<fail_atom, actor_id, caf::error>,
  // Internal: the process for this actor should run it by now.
  caf::reacts_to<timeout_atom, actor_id>,
  // Current load.
  caf::replies_to<stats_atom>::with<load_report>,
  // Internal heartbeat timer.
  caf::reacts_to<tick_atom>,
  // Cluster mode: the number of live nodes (from the head's directory).
  caf::reacts_to<members_atom, uint32_t>,
  // A worker process started for slot `n` runs (its pid, for reaping).
  caf::reacts_to<register_atom, uint32_t, worker_actor, int32_t>,
  // Internal: worker process `n` should have registered by now.
  caf::reacts_to<timeout_atom, uint32_t>,
  // The node leaves (SIGTERM): the raylet tells the global scheduler to
  // place nothing here, hands every task queued and not started to it
  // (and every task that arrives from now on), lets the running ones
  // finish for at most this many milliseconds, and answers what it did.
  // Tasks still running then run again elsewhere while their retries
  // last; the others fail with worker_died at their owner.
  caf::replies_to<drain_atom, uint64_t>::with<drain_report>,
  // Internal: the drain's time is up.
  caf::reacts_to<drain_atom, timeout_atom>,
  // A driver leases up to `n` idle worker processes for tasks with this
  // demand, to send them tasks directly; the answer may hold fewer (none
  // if no worker is idle or the demand does not fit now).
  caf::replies_to<lease_atom, resource_map, uint32_t>::with<
    std::vector<worker_lease>>,
  // Worker `n` ended the lease with this token (its driver closed the
  // connection, or never came): the worker is free again.
  caf::reacts_to<lease_atom, uint32_t, uint64_t>>;

/// Hosts one class-based actor instance. Calls run one at a time in mailbox
/// order; results go to the caller's core worker as
/// (call_result_atom, actor_id, object_id, object_payload), or, for a batch
/// of calls, as (call_result_atom, actor_id, ids, payloads).
using actor_host_actor = caf::typed_actor<
  caf::reacts_to<call_atom, task_spec, caf::actor>,
  // A burst of calls from one caller, oldest first.
  caf::reacts_to<call_atom, std::vector<task_spec>, caf::actor>,
  caf::reacts_to<ready_atom, object_id, object_payload>>;

/// The per-process client side of the runtime: routes actor calls, tracks
/// calls in flight and turns dead actors into errors for their callers, and
/// completes the blocking `get`/`wait` calls of the process's threads. The
/// trailing uint64_t of get and wait names the waiting thread's slot in the
/// process (an integer, so the message stays serializable).
using core_worker_actor = caf::typed_actor<
  // Calls a method on the class-based actor hosted by the first argument.
  caf::reacts_to<call_atom, caf::actor, task_spec>,
  // The process's submission queue has tasks: forward them to the raylet.
  caf::reacts_to<submit_atom>,
  // The actor's outbox has calls: send them to its host as one batch.
  caf::reacts_to<call_atom, actor_id>,
  // The process sealed objects in the arena or released some: forward them
  // to the store.
  caf::reacts_to<release_atom>,
  // A hosted actor finished a call, or several (oldest first).
  caf::reacts_to<call_result_atom, actor_id, object_id, object_payload>,
  caf::reacts_to<call_result_atom, actor_id, std::vector<object_id>,
                 std::vector<object_payload>>,
  // Small results of tasks this process submitted, straight from the worker
  // that ran them (the store hears of them too).
  caf::reacts_to<ready_atom, std::vector<object_id>,
                 std::vector<object_payload>>,
  // Fetches objects for a blocked thread.
  caf::reacts_to<get_atom, std::vector<object_id>, caf::timespan, uint64_t>,
  // Waits for `num_ready` objects for a blocked thread.
  caf::reacts_to<wait_atom, std::vector<object_id>, uint64_t, caf::timespan,
                 uint64_t>>;

} // namespace cafray
