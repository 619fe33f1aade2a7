#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

namespace cafray {

using caf::delete_atom;
using caf::flush_atom;
using caf::get_atom;
using caf::ok_atom;
using caf::put_atom;
using caf::subscribe_atom;
using caf::tick_atom;

using caf::delete_atom_v;
using caf::flush_atom_v;
using caf::get_atom_v;
using caf::ok_atom_v;
using caf::put_atom_v;
using caf::subscribe_atom_v;
using caf::tick_atom_v;

} // namespace cafray

// Atoms of caf-ray's own messages (at most 10 characters each).
CAF_ADD_ATOM(cafray, cafray, submit_atom, "submit")
CAF_ADD_ATOM(cafray, cafray, execute_atom, "execute")
CAF_ADD_ATOM(cafray, cafray, done_atom, "done")
CAF_ADD_ATOM(cafray, cafray, blocked_atom, "blocked")
CAF_ADD_ATOM(cafray, cafray, unblocked_atom, "unblocked")
CAF_ADD_ATOM(cafray, cafray, wait_atom, "wait")
CAF_ADD_ATOM(cafray, cafray, ready_atom, "ready")
CAF_ADD_ATOM(cafray, cafray, release_atom, "release")
CAF_ADD_ATOM(cafray, cafray, stats_atom, "stats")
CAF_ADD_ATOM(cafray, cafray, create_actor_atom, "mkactor")
CAF_ADD_ATOM(cafray, cafray, spawn_behavior_atom, "spawnbeh")
CAF_ADD_ATOM(cafray, cafray, call_atom, "call")
CAF_ADD_ATOM(cafray, cafray, call_result_atom, "callres")
CAF_ADD_ATOM(cafray, cafray, spill_atom, "spill")
CAF_ADD_ATOM(cafray, cafray, place_atom, "place")
CAF_ADD_ATOM(cafray, cafray, register_atom, "register")
CAF_ADD_ATOM(cafray, cafray, heartbeat_atom, "heartbeat")
CAF_ADD_ATOM(cafray, cafray, scan_atom, "scan")
CAF_ADD_ATOM(cafray, cafray, notify_atom, "notify")
CAF_ADD_ATOM(cafray, cafray, timeout_atom, "timeout")
CAF_ADD_ATOM(cafray, cafray, kill_atom, "kill")
CAF_ADD_ATOM(cafray, cafray, shutdown_atom, "shutdown")
CAF_ADD_ATOM(cafray, cafray, fail_atom, "fail")
CAF_ADD_ATOM(cafray, cafray, lookup_atom, "lookup")
CAF_ADD_ATOM(cafray, cafray, handback_atom, "handback")
CAF_ADD_ATOM(cafray, cafray, steal_atom, "steal")
CAF_ADD_ATOM(cafray, cafray, join_atom, "join")
CAF_ADD_ATOM(cafray, cafray, attach_atom, "attach")
CAF_ADD_ATOM(cafray, cafray, leave_atom, "leave")
CAF_ADD_ATOM(cafray, cafray, members_atom, "members")
CAF_ADD_ATOM(cafray, cafray, pull_atom, "pull")
CAF_ADD_ATOM(cafray, cafray, fetch_atom, "fetch")
CAF_ADD_ATOM(cafray, cafray, status_atom, "status")
CAF_ADD_ATOM(cafray, cafray, arena_atom, "arena")
CAF_ADD_ATOM(cafray, cafray, allocate_atom, "allocate")
CAF_ADD_ATOM(cafray, cafray, seal_atom, "seal")
CAF_ADD_ATOM(cafray, cafray, unpin_atom, "unpin")
CAF_ADD_ATOM(cafray, cafray, place_actor_atom, "placeactor")
CAF_ADD_ATOM(cafray, cafray, drain_atom, "drain")
CAF_ADD_ATOM(cafray, cafray, lease_atom, "lease")
