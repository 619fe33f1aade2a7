#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "object_store/object_store.hpp"
#include "proto/register_types.hpp"
#include "raylet/raylet.hpp"

namespace cafray::test {

/// What a fake worker reports to the test for every task it gets.
struct executed {
  std::string node;  // label of the raylet the worker belongs to
  uint32_t worker = 0;
  task_spec spec;
  std::vector<object_payload> resolved;
};

/// A worker that records each task with the test (`observer`), one message
/// per task, and, if `auto_done`, tells its raylet it finished them at once.
inline worker_actor::behavior_type
fake_worker(uint32_t index, raylet_actor raylet, caf::actor observer,
            std::string label, bool auto_done) {
  return {
    [=](execute_atom, std::vector<task_assignment>& batch) {
      // done first: the test's next request to the raylet then arrives
      // after it.
      if (auto_done) {
        std::vector<task_id> ids;
        for (auto& a : batch)
          ids.push_back(a.spec.id);
        caf::anon_send(raylet, done_atom_v, index, std::move(ids));
      }
      for (auto& a : batch)
        caf::anon_send(observer, execute_atom_v, label, index,
                       std::move(a.spec), std::move(a.resolved));
    },
    [=](steal_atom, uint32_t) {
      // Runs nothing itself, so it never has queued tasks to give back.
      caf::anon_send(raylet, handback_atom_v, index, std::vector<task_spec>{});
    },
    [](lease_atom, uint64_t) -> caf::result<std::string> {
      return make_error(errc::runtime_error, "a fake worker has no channel");
    },
    [](lease_atom) {},
  };
}

/// Reports tasks as finished, as a worker does.
inline void send_done(const raylet_actor& raylet, uint32_t worker,
                      const task_id& id) {
  caf::anon_send(raylet, done_atom_v, worker, std::vector<task_id>{id});
}

/// A global scheduler that reports spilled tasks to the test.
inline scheduler_actor::behavior_type fake_global(caf::actor observer) {
  return {
    [=](register_atom, const node_id&, const raylet_actor&,
        const resource_map&) {},
    [=](heartbeat_atom, const load_report&) {},
    [=](spill_atom, task_spec& spec) {
      caf::anon_send(observer, spill_atom_v, std::move(spec));
    },
    [=](spill_atom, task_spec& spec, caf::actor&) {
      caf::anon_send(observer, spill_atom_v, std::move(spec));
    },
    [=](spill_atom, std::vector<task_spec>& specs, caf::actor& owner) {
      caf::anon_send(observer, spill_atom_v, std::move(specs),
                     std::move(owner));
    },
    [=](place_actor_atom, task_spec&) -> caf::result<actor_location> {
      return make_error(errc::infeasible, "fake global scheduler");
    },
    [=](drain_atom, const node_id& node) {
      caf::anon_send(observer, drain_atom_v, node);
    },
    [=](stats_atom) { return uint64_t{0}; },
  };
}

/// An actor standing in for an actor host: accepts anything.
inline caf::behavior idle_actor() {
  return {
    [](const std::string&) {},
  };
}

struct raylet_fixture {
  static constexpr auto max_wait = std::chrono::seconds(10);

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  object_store_actor store;
  std::vector<caf::actor> to_stop;

  raylet_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    store = spawn_object_store(*sys, node_id{1, 1}, gcs_router{}, 0);
    to_stop.push_back(caf::actor_cast<caf::actor>(store));
  }

  ~raylet_fixture() {
    // Raylets first: they stop their workers and actors.
    for (auto i = to_stop.rbegin(); i != to_stop.rend(); ++i)
      caf::anon_send_exit(*i, caf::exit_reason::user_shutdown);
    // Handles keep actors alive; drop them before the system waits.
    store = nullptr;
    to_stop.clear();
    self.reset();
    sys.reset();
  }

  caf::actor observer() {
    return caf::actor_cast<caf::actor>(*self);
  }

  /// A worker factory of fake workers labelled `label`.
  worker_factory fake_factory(std::string label, bool auto_done) {
    worker_factory f;
    auto sys_ptr = sys.get();
    auto obs = observer();
    f.worker = [=](uint32_t index, raylet_actor raylet) {
      return sys_ptr->spawn(fake_worker, index, std::move(raylet), obs, label,
                            auto_done);
    };
    f.actor_host = [=](const task_spec&) {
      return sys_ptr->spawn(idle_actor);
    };
    f.behavior = [=](const task_spec& spec) -> caf::expected<caf::actor> {
      if (spec.function == "fail")
        return make_error(errc::unknown_actor_class, "no behavior 'fail'");
      return sys_ptr->spawn(idle_actor);
    };
    return f;
  }

  scheduler_actor spawn_fake_global() {
    auto result = sys->spawn(fake_global, observer());
    to_stop.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  raylet_actor spawn(raylet_config rc, scheduler_actor global = {},
                     object_store_actor node_store = {}) {
    auto result = spawn_raylet(*sys, std::move(rc),
                               node_store ? node_store : store,
                               std::move(global), gcs_router{});
    to_stop.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  /// The next task a fake worker got.
  executed next_executed() {
    executed result;
    bool got = false;
    (*self)->receive(
      [&](execute_atom, std::string& label, uint32_t worker, task_spec& spec,
          std::vector<object_payload>& resolved) {
        result = executed{std::move(label), worker, std::move(spec),
                          std::move(resolved)};
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no task executed");
    return result;
  }

  task_spec next_spilled() {
    task_spec result;
    bool got = false;
    (*self)->receive(
      [&](spill_atom, task_spec& spec) {
        result = std::move(spec);
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no task spilled");
    return result;
  }

  /// The next batch of spilled tasks, with its owner.
  std::pair<std::vector<task_spec>, caf::actor> next_spilled_batch() {
    std::pair<std::vector<task_spec>, caf::actor> result;
    bool got = false;
    (*self)->receive(
      [&](spill_atom, std::vector<task_spec>& specs, caf::actor& owner) {
        result = {std::move(specs), std::move(owner)};
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no batch spilled");
    return result;
  }

  load_report stats(const raylet_actor& r) {
    load_report result;
    (*self)
      ->request(r, max_wait, stats_atom_v)
      .receive([&](load_report& x) { result = std::move(x); },
               [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  caf::expected<caf::actor> request_actor(const raylet_actor& r,
                                          caf::message msg) {
    caf::expected<caf::actor> result = make_error(errc::runtime_error);
    (*self)
      ->request(caf::actor_cast<caf::actor>(r), max_wait, std::move(msg))
      .receive([&](actor_location& x) { result = std::move(x.handle); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

} // namespace cafray::test
