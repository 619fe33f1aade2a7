#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "api/object_ref.hpp"
#include "proto/messages.hpp"

namespace cafray::detail {

/// A hold on an object this process creates; the ref that carries it
/// releases the object when its last copy goes.
std::shared_ptr<ref_state> own(const object_id& id);

/// Keeps `holds` (a task's argument objects) until `result` is sealed.
void hold_until_sealed(const object_id& result, ref_holds holds);

/// Stores bytes as a new object owned by the caller; returns its ID.
object_id put_blob(blob data);

/// Stores `size` bytes straight into the node's shared-memory arena if this
/// process maps one and they are above the inline threshold; returns the
/// new object's ID, or a nil ID (nothing stored) otherwise. Throws
/// errc::object_too_large when the object does not fit.
object_id put_raw(const char* data, size_t size);

/// Where `ptr` lies in the node's shared-memory arena mapped by this
/// process (its offset), or -1.
int64_t arena_offset(const void* ptr) noexcept;

/// Blocks until all objects exist (or the timeout passed: timeout_error) and
/// returns their payloads in input order. Lends the CPU of a blocked worker.
std::vector<object_payload> fetch(const std::vector<object_id>& ids,
                                  caf::timespan timeout);

/// Blocks until `num_ready` objects exist or the timeout passed; one flag per
/// input.
std::vector<uint8_t> wait_ids(const std::vector<object_id>& ids,
                              uint64_t num_ready, caf::timespan timeout);

/// Fills in ID, job and parent, submits to the local raylet and returns the
/// spec's ID.
task_id submit_task(task_spec spec);

/// Fills in ID, job and parent of a spec without submitting it.
void stamp(task_spec& spec);

/// Values larger than this go to the object store instead of inline.
uint64_t inline_threshold();

int32_t default_max_retries();

/// Starts an actor host for a class-based actor; returns its handle.
caf::actor create_actor(task_spec spec);

/// Spawns a registered typed behavior.
caf::actor spawn_behavior(task_spec spec);

/// Sends a method call to a hosted actor (through the core worker).
object_id call_actor(const caf::actor& host, task_spec spec);

/// The handle of a live actor by ID; throws actor_died_error.
caf::actor lookup_actor(const actor_id& id);

/// The actor registered under a name, if any.
bool lookup_actor_name(const std::string& name, actor_id& id);

/// Stops an actor.
void kill_actor(const caf::actor& handle);

/// Puts the result of a typed-actor request into the object store.
void put_payload(const object_id& id, object_payload payload);

/// The runtime's actor system; throws if not initialized.
caf::actor_system& system();

/// A fresh object ID for a value the caller produces itself.
object_id next_put_id();

} // namespace cafray::detail
