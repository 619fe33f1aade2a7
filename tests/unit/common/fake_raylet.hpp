#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include "common/error.hpp"
#include "proto/raylet_actor.hpp"

namespace cafray::test {

/// A raylet that reports to the test what other components tell it, and
/// does nothing else: (done_atom, worker, task IDs) for finished tasks and
/// (place_atom, label, spec) for tasks the global scheduler placed (with
/// their batch and owner if placed as one), and
/// (handback_atom, worker, specs) for tasks a worker gave back.
inline raylet_actor::behavior_type fake_raylet(caf::actor observer,
                                               std::string label) {
  return {
    [](submit_atom, const task_spec&) {},
    [](submit_atom, const std::vector<task_spec>&) {},
    [](submit_atom, const std::vector<task_spec>&, const caf::actor&) {},
    [=](place_atom, task_spec& spec) {
      caf::anon_send(observer, place_atom_v, label, std::move(spec));
    },
    [=](place_atom, task_spec& spec, const caf::actor&) {
      caf::anon_send(observer, place_atom_v, label, std::move(spec));
    },
    [=](place_atom, std::vector<task_spec>& specs, const caf::actor& owner) {
      caf::anon_send(observer, place_atom_v, label, std::move(specs), owner);
    },
    [](ready_atom, const object_id&, const object_payload&) {},
    [=](done_atom, uint32_t worker, const std::vector<task_id>& ids) {
      caf::anon_send(observer, done_atom_v, worker, ids);
    },
    [](blocked_atom, uint32_t) {},
    [](unblocked_atom, uint32_t) {},
    [=](handback_atom, uint32_t worker, const std::vector<task_spec>& xs) {
      caf::anon_send(observer, handback_atom_v, worker, xs);
    },
    [](create_actor_atom, const task_spec&) -> caf::result<actor_location> {
      return make_error(errc::runtime_error, "fake raylet");
    },
    [](spawn_behavior_atom,
       const task_spec&) -> caf::result<actor_location> {
      return make_error(errc::runtime_error, "fake raylet");
    },
    [](place_actor_atom, const task_spec&) -> caf::result<actor_location> {
      return make_error(errc::runtime_error, "fake raylet");
    },
    [](lookup_atom, const actor_id&) -> caf::result<actor_location> {
      return make_error(errc::actor_died, "fake raylet");
    },
    [](attach_atom, const actor_id&, int32_t) -> caf::result<task_spec> {
      return make_error(errc::actor_died, "fake raylet");
    },
    [](register_atom, const actor_id&, const caf::actor&, uint16_t) {},
    [](fail_atom, const actor_id&, const caf::error&) {},
    [](timeout_atom, const actor_id&) {},
    [](stats_atom) { return load_report{}; },
    [](tick_atom) {},
    [](members_atom, uint32_t) {},
    [](register_atom, uint32_t, worker_actor&, int32_t) {},
    [](timeout_atom, uint32_t) {},
    [](drain_atom, uint64_t) { return drain_report{}; },
    [](drain_atom, timeout_atom) {},
    [](lease_atom, const resource_map&, uint32_t) {
      return std::vector<worker_lease>{};
    },
    [](lease_atom, uint32_t, uint64_t) {},
  };
}

} // namespace cafray::test
