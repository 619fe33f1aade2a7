// The global scheduler actor with fake raylets, in one process.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "proto/register_types.hpp"
#include "../common/fake_raylet.hpp"
#include "scheduler/global_scheduler.hpp"

using namespace cafray;
using cafray::test::fake_raylet;

namespace {

constexpr auto max_wait = std::chrono::seconds(10);

task_spec make_task(uint64_t n, resource_map demand) {
  task_spec spec;
  spec.id = task_id{4, n};
  spec.function = "f" + std::to_string(n);
  spec.resources = std::move(demand);
  return spec;
}

struct scheduler_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  scheduler_actor global;
  std::vector<caf::actor> to_stop;

  scheduler_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    global = spawn_global_scheduler(*sys);
  }

  ~scheduler_fixture() {
    caf::anon_send_exit(global, caf::exit_reason::user_shutdown);
    for (auto& a : to_stop)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    // Handles keep actors alive; drop them before the system waits.
    global = nullptr;
    to_stop.clear();
    self.reset();
    sys.reset();
  }

  raylet_actor spawn_fake_raylet(std::string label) {
    auto result = sys->spawn(fake_raylet, caf::actor_cast<caf::actor>(*self),
                             std::move(label));
    to_stop.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  uint64_t held() {
    uint64_t result = ~0ULL;
    (*self)
      ->request(global, max_wait, stats_atom_v)
      .receive([&](uint64_t n) { result = n; },
               [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  std::pair<std::string, task_spec> next_placed() {
    std::pair<std::string, task_spec> result;
    bool got = false;
    (*self)->receive(
      [&](place_atom, std::string& label, task_spec& spec) {
        result = {std::move(label), std::move(spec)};
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "nothing placed");
    return result;
  }
};

} // namespace

TEST_CASE_FIXTURE(scheduler_fixture, "a spill with no nodes is held until a "
                                     "node with the resource registers") {
  CHECK_EQ(held(), 0u);
  auto spec = make_task(1, {{"GPU", 1000}});
  spec.name = "gpu task";
  caf::anon_send(global, spill_atom_v, spec);
  CHECK_EQ(held(), 1u);
  // A node without the resource changes nothing.
  auto cpu_only = spawn_fake_raylet("cpu");
  caf::anon_send(global, register_atom_v, node_id{1, 1}, cpu_only,
                 resource_map{{"CPU", 4000}});
  CHECK_EQ(held(), 1u);
  auto gpu = spawn_fake_raylet("gpu");
  caf::anon_send(global, register_atom_v, node_id{2, 2}, gpu,
                 resource_map{{"CPU", 1000}, {"GPU", 1000}});
  auto [label, placed] = next_placed();
  CHECK_EQ(label, "gpu");
  CHECK(placed.id == (task_id{4, 1}));
  CHECK_EQ(placed.name, "gpu task");
  CHECK(placed.resources == resource_map{{"GPU", 1000}});
  CHECK_EQ(held(), 0u);
}

TEST_CASE_FIXTURE(scheduler_fixture, "a spill with a feasible node is placed "
                                     "at once") {
  auto a = spawn_fake_raylet("a");
  auto b = spawn_fake_raylet("b");
  caf::anon_send(global, register_atom_v, node_id{1, 1}, a,
                 resource_map{{"CPU", 1000}});
  caf::anon_send(global, register_atom_v, node_id{2, 2}, b,
                 resource_map{{"CPU", 1000}, {"mem", 1000}});
  caf::anon_send(global, spill_atom_v, make_task(1, {{"mem", 500}}));
  auto [label, placed] = next_placed();
  CHECK_EQ(label, "b");
  CHECK(placed.id == (task_id{4, 1}));
  CHECK_EQ(held(), 0u);
}

TEST_CASE_FIXTURE(scheduler_fixture, "a spilled batch goes out in one place "
                                     "message per node, in order, with its "
                                     "owner") {
  auto a = spawn_fake_raylet("a");
  caf::anon_send(global, register_atom_v, node_id{1, 1}, a,
                 resource_map{{"CPU", 1000}});
  std::vector<task_spec> specs{make_task(1, {{"CPU", 1000}}),
                               make_task(2, {{"GPU", 1000}}),
                               make_task(3, {{"CPU", 1000}})};
  auto owner = caf::actor_cast<caf::actor>(*self);
  caf::anon_send(global, spill_atom_v, specs, owner);
  bool got = false;
  (*self)->receive(
    [&](place_atom, std::string& label, std::vector<task_spec>& placed,
        caf::actor& who) {
      got = true;
      CHECK_EQ(label, "a");
      REQUIRE_EQ(placed.size(), 2u);
      CHECK(placed[0].id == (task_id{4, 1}));
      CHECK(placed[1].id == (task_id{4, 3}));
      CHECK(who == owner);
    },
    caf::after(max_wait) >> [] {});
  REQUIRE_MESSAGE(got, "no batch placed");
  // No node offers a GPU: held, with its owner, until one joins.
  CHECK_EQ(held(), 1u);
  auto gpu = spawn_fake_raylet("gpu");
  caf::anon_send(global, register_atom_v, node_id{2, 2}, gpu,
                 resource_map{{"CPU", 1000}, {"GPU", 1000}});
  auto [label, placed] = next_placed();
  CHECK_EQ(label, "gpu");
  CHECK(placed.id == (task_id{4, 2}));
  CHECK_EQ(held(), 0u);
}

TEST_CASE_FIXTURE(scheduler_fixture, "heartbeats steer placement to the less "
                                     "loaded node") {
  auto a = spawn_fake_raylet("a");
  auto b = spawn_fake_raylet("b");
  caf::anon_send(global, register_atom_v, node_id{1, 1}, a,
                 resource_map{{"CPU", 4000}});
  caf::anon_send(global, register_atom_v, node_id{2, 2}, b,
                 resource_map{{"CPU", 1000}});
  load_report busy;
  busy.node = node_id{1, 1};
  busy.total = {{"CPU", 4000}};
  busy.available = {{"CPU", 0}};
  busy.queued = 50;
  caf::anon_send(global, heartbeat_atom_v, busy);
  caf::anon_send(global, spill_atom_v, make_task(1, {{"CPU", 1000}}));
  CHECK_EQ(next_placed().first, "b");
}

TEST_CASE_FIXTURE(scheduler_fixture, "a node that dies is no longer "
                                     "chosen") {
  auto gpu = spawn_fake_raylet("gpu");
  caf::anon_send(global, register_atom_v, node_id{2, 2}, gpu,
                 resource_map{{"GPU", 1000}});
  caf::anon_send(global, spill_atom_v, make_task(1, {{"GPU", 1000}}));
  CHECK_EQ(next_placed().first, "gpu");
  caf::anon_send_exit(gpu, caf::exit_reason::kill);
  (*self)->wait_for(gpu);
  // The scheduler learns of the death through its monitor; once it has, a
  // GPU task is held. Probes placed before that go to the dead handle.
  bool held_one = false;
  for (uint64_t n = 2; n < 1000 && !held_one; ++n) {
    caf::anon_send(global, spill_atom_v, make_task(n, {{"GPU", 1000}}));
    held_one = held() == 1;
  }
  CHECK(held_one);
}

TEST_CASE_FIXTURE(scheduler_fixture, "a draining node is no longer chosen, "
                                     "and a heartbeat does not bring it "
                                     "back") {
  auto a = spawn_fake_raylet("a");
  auto b = spawn_fake_raylet("b");
  caf::anon_send(global, register_atom_v, node_id{1, 1}, a,
                 resource_map{{"CPU", 4000}, {"slot", 2000}});
  caf::anon_send(global, register_atom_v, node_id{2, 2}, b,
                 resource_map{{"CPU", 1000}, {"slot", 2000}});
  caf::anon_send(global, drain_atom_v, node_id{1, 1});
  load_report idle;
  idle.node = node_id{1, 1};
  idle.total = {{"CPU", 4000}, {"slot", 2000}};
  idle.available = idle.total;
  caf::anon_send(global, heartbeat_atom_v, idle);
  for (uint64_t n = 1; n <= 4; ++n) {
    caf::anon_send(global, spill_atom_v, make_task(n, {{"slot", 1000}}));
    auto [label, placed] = next_placed();
    CHECK_EQ(label, "b");
    CHECK(placed.id == (task_id{4, n}));
  }
  // Once the last node offering the resource drains, tasks are held.
  caf::anon_send(global, drain_atom_v, node_id{2, 2});
  caf::anon_send(global, spill_atom_v, make_task(9, {{"slot", 1000}}));
  CHECK_EQ(held(), 1u);
}
