#pragma once

// The raylet's actors (raylet.cpp has the tasks): where an actor is
// created, the worker processes that host actors in cluster mode, and what
// an actor's death sets free. Internal to the raylet library.

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>

#include "raylet/raylet.hpp"

namespace cafray {

using raylet_pointer = raylet_actor::stateful_pointer<raylet_state>;

/// Writes a task's lineage record (batched).
void record_task(raylet_pointer self, const task_spec& spec, task_state s);

/// Hands ready tasks to workers.
void dispatch(raylet_pointer self);

/// Asks worker `w` to give back up to `count` tasks it has not started.
void send_steal(raylet_pointer self, uint32_t w, uint32_t count);

/// A task lost with its worker: its results are the typed worker_died
/// error (`message` says why), for the store and, if it has one, for the
/// core worker that owns them.
void fail_lost_task(raylet_pointer self, const task_spec& spec,
                    const std::string& message);

// -- draining (raylet_drain.cpp) ----------------------------------------------

/// Starts draining: see raylet_actor's (drain_atom, milliseconds).
caf::result<drain_report> start_drain(raylet_pointer self,
                                      uint64_t timeout_ms);

/// While draining: tasks this raylet held and had not started go to the
/// global scheduler, with their owners, one message per owner.
void drain_hand_back(raylet_pointer self, std::vector<task_spec> specs);

/// While draining: answers the drain once nothing runs here any more.
void drain_check(raylet_pointer self);

/// Tasks that would be queued here again (handed back by a worker, or
/// left by a dead one): while draining they go to the global scheduler
/// instead (and the drain may be over); false if not draining.
bool drain_takes(raylet_pointer self, std::vector<task_spec>& specs);

/// The drain's time is up: answers it; tasks still running run again
/// elsewhere while their retries last, the others fail.
void drain_timeout(raylet_pointer self);

/// Creates the actor `spec` describes, answering with where it runs. With
/// `may_place` (a creation submitted on this node) in cluster mode, an actor
/// whose resources this node lacks, or does not have free, goes to the
/// global scheduler, which passes it to a node that has them.
caf::result<actor_location> start_actor(raylet_pointer self, task_spec& spec,
                                        bool may_place);

/// The worker process started for actor `id` asks for its creation.
caf::result<task_spec> actor_attach(raylet_pointer self, const actor_id& id,
                                    int32_t pid);

/// That process runs the actor and publishes it at `port`.
void actor_registered(raylet_pointer self, const actor_id& id,
                      caf::actor handle, uint16_t port);

/// That process could not start the actor (or never reported): its
/// creator hears `err`, the process stops and the resources are free.
void actor_start_failed(raylet_pointer self, const actor_id& id,
                        caf::error err);

/// A monitored actor died: returns false if `source` was none of this
/// raylet's actors. The GCS learns it is dead, its name is free again, its
/// process stops and its resources go back.
bool actor_down(raylet_pointer self, const caf::actor_addr& source);

} // namespace cafray
