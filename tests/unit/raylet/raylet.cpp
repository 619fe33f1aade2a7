// The raylet actor with fake workers, a real object store and a fake or
// real global scheduler, in one process.

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include <caf/make_message.hpp>

#include "raylet_fixture.hpp"
#include "scheduler/global_scheduler.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

task_spec make_task(uint64_t n, resource_map demand = {{"CPU", 1000}}) {
  task_spec spec;
  spec.id = task_id{5, n};
  spec.function = "f" + std::to_string(n);
  spec.resources = std::move(demand);
  return spec;
}

task_arg ref_arg(const object_id& id) {
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::resolved);
  arg.ref = id;
  return arg;
}

object_payload value(std::string bytes) {
  object_payload result;
  result.data = blob{blob::buffer(bytes.begin(), bytes.end())};
  return result;
}

std::string str(const object_payload& p) {
  return std::string(p.data.data() ? p.data.data() : "", p.data.size());
}

raylet_config config(node_id node, resource_map resources,
                     uint32_t num_workers, worker_factory factory,
                     uint32_t pipeline_depth = 32) {
  raylet_config rc;
  rc.pipeline_depth = pipeline_depth;
  rc.node = node;
  rc.resources = std::move(resources);
  rc.num_workers = num_workers;
  rc.factory = std::move(factory);
  return rc;
}

} // namespace

TEST_CASE_FIXTURE(raylet_fixture, "a submitted task executes and then frees "
                                  "its resources") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 2000}}, 1,
                        fake_factory("a", true)));
  caf::anon_send(r, submit_atom_v, make_task(1));
  auto x = next_executed();
  CHECK_EQ(x.node, "a");
  CHECK_EQ(x.worker, 0u);
  CHECK(x.spec.id == (task_id{5, 1}));
  CHECK_EQ(x.spec.function, "f1");
  CHECK(x.resolved.empty());
  auto rep = stats(r);
  CHECK_EQ(rep.running, 0u);
  CHECK_EQ(rep.queued, 0u);
  CHECK(rep.available == resource_map{{"CPU", 2000}});
  CHECK_EQ(rep.workers, 1u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a task with an unready dependency runs "
                                  "only after the object is put") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", true)));
  auto dep = object_id{task_id{6, 6}, 1};
  auto spec = make_task(1);
  spec.args = {ref_arg(dep)};
  caf::anon_send(r, submit_atom_v, spec);
  auto waiting = stats(r);
  CHECK_EQ(waiting.queued, 1u);
  CHECK_EQ(waiting.running, 0u);
  CHECK(waiting.available == resource_map{{"CPU", 1000}});
  caf::anon_send(store, put_atom_v, dep, value("dependency"));
  auto x = next_executed();
  CHECK(x.spec.id == (task_id{5, 1}));
  REQUIRE_EQ(x.resolved.size(), 1u);
  CHECK_EQ(str(x.resolved[0]), "dependency");
  CHECK_EQ(stats(r).queued, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "an infeasible task goes to the global "
                                  "scheduler") {
  auto global = spawn_fake_global();
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", true)),
                 global);
  auto spec = make_task(1, {{"CPU", 1000}, {"GPU", 1000}});
  spec.name = "needs a gpu";
  caf::anon_send(r, submit_atom_v, spec);
  auto spilled = next_spilled();
  CHECK(spilled.id == (task_id{5, 1}));
  CHECK_EQ(spilled.name, "needs a gpu");
  CHECK(spilled.resources == resource_map{{"CPU", 1000}, {"GPU", 1000}});
  auto rep = stats(r);
  CHECK_EQ(rep.queued, 0u);
  CHECK_EQ(rep.running, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a placed task is never spilled again, even "
                                  "if infeasible") {
  // The global scheduler chose this node: the raylet queues the task.
  auto global = spawn_fake_global();
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", true)),
                 global);
  caf::anon_send(r, place_atom_v, make_task(1, {{"GPU", 1000}}));
  auto rep = stats(r);
  CHECK_EQ(rep.queued, 1u);
  CHECK_EQ(rep.running, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "tasks beyond the backlog of a busy node "
                                  "spill in one message with their owner") {
  auto global = spawn_fake_global();
  auto rc = config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                   fake_factory("a", false));
  rc.spill_backlog = 2;
  auto r = spawn(std::move(rc), global);
  // Another node exists: load may spill.
  caf::anon_send(r, members_atom_v, uint32_t{2});
  std::vector<task_spec> specs;
  for (uint64_t n = 1; n <= 5; ++n)
    specs.push_back(make_task(n));
  caf::anon_send(r, submit_atom_v, specs, observer());
  auto [spilled, owner] = next_spilled_batch();
  REQUIRE_EQ(spilled.size(), 3u);
  CHECK(spilled[0].id == (task_id{5, 3}));
  CHECK(spilled[1].id == (task_id{5, 4}));
  CHECK(spilled[2].id == (task_id{5, 5}));
  CHECK(owner == observer());
  auto rep = stats(r);
  CHECK_EQ(rep.queued + rep.running, 2u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a placed batch runs here in its order, "
                                  "never spilled again") {
  auto global = spawn_fake_global();
  auto rc = config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                   fake_factory("a", true));
  rc.spill_backlog = 1;
  auto r = spawn(std::move(rc), global);
  caf::anon_send(r, members_atom_v, uint32_t{2});
  std::vector<task_spec> specs;
  for (uint64_t n = 1; n <= 4; ++n)
    specs.push_back(make_task(n));
  caf::anon_send(r, place_atom_v, specs, observer());
  for (uint64_t n = 1; n <= 4; ++n) {
    auto x = next_executed();
    CHECK_EQ(x.node, "a");
    CHECK(x.spec.id == (task_id{5, n}));
  }
  auto rep = stats(r);
  CHECK_EQ(rep.queued, 0u);
  CHECK_EQ(rep.running, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "stats report exact load values") {
  auto r = spawn(config(node_id{3, 4}, {{"CPU", 2000}, {"GPU", 1000}}, 2,
                        fake_factory("a", false), 1));
  caf::anon_send(r, submit_atom_v,
                 make_task(1, {{"CPU", 1000}, {"GPU", 1000}}));
  caf::anon_send(r, submit_atom_v, make_task(2));
  caf::anon_send(r, submit_atom_v, make_task(3));
  // Two workers report independently: order their reports by task.
  auto x1 = next_executed();
  auto x2 = next_executed();
  if (x1.spec.id.lo > x2.spec.id.lo)
    std::swap(x1, x2);
  CHECK(x1.spec.id == (task_id{5, 1}));
  CHECK(x2.spec.id == (task_id{5, 2}));
  // Workers are taken from the back of the idle list.
  CHECK_EQ(x1.worker, 1u);
  CHECK_EQ(x2.worker, 0u);
  auto rep = stats(r);
  CHECK(rep.node == (node_id{3, 4}));
  CHECK(rep.total == resource_map{{"CPU", 2000}, {"GPU", 1000}});
  CHECK(rep.available == resource_map{{"CPU", 0}, {"GPU", 0}});
  CHECK_EQ(rep.queued, 1u);
  CHECK_EQ(rep.running, 2u);
  CHECK_EQ(rep.workers, 2u);
  // The first task finishes: the third takes its worker.
  send_done(r, x1.worker, x1.spec.id);
  auto x3 = next_executed();
  CHECK(x3.spec.id == (task_id{5, 3}));
  CHECK_EQ(x3.worker, x1.worker);
  auto after = stats(r);
  CHECK(after.available == resource_map{{"CPU", 0}, {"GPU", 1000}});
  CHECK_EQ(after.queued, 0u);
  CHECK_EQ(after.running, 2u);
  CHECK_EQ(after.workers, 2u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a blocked worker lends its CPU to a new "
                                  "worker; unblocking takes it back") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", false), 1));
  caf::anon_send(r, submit_atom_v, make_task(1));
  caf::anon_send(r, submit_atom_v, make_task(2));
  auto x1 = next_executed();
  CHECK(x1.spec.id == (task_id{5, 1}));
  CHECK_EQ(x1.worker, 0u);
  CHECK_EQ(stats(r).queued, 1u);
  caf::anon_send(r, blocked_atom_v, x1.worker);
  // No idle worker: the raylet starts a second one for task 2.
  auto x2 = next_executed();
  CHECK(x2.spec.id == (task_id{5, 2}));
  CHECK_EQ(x2.worker, 1u);
  auto rep = stats(r);
  CHECK(rep.available == resource_map{{"CPU", 0}});
  CHECK_EQ(rep.running, 2u);
  CHECK_EQ(rep.workers, 2u);
  caf::anon_send(r, unblocked_atom_v, x1.worker);
  CHECK(stats(r).available == resource_map{{"CPU", -1000}});
  send_done(r, x1.worker, x1.spec.id);
  send_done(r, x2.worker, x2.spec.id);
  auto idle = stats(r);
  CHECK(idle.available == resource_map{{"CPU", 1000}});
  CHECK_EQ(idle.running, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a blocked worker's CPU starts one new "
                                  "worker, not one per queued task") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", false), 1));
  for (uint64_t n = 1; n <= 4; ++n)
    caf::anon_send(r, submit_atom_v, make_task(n));
  auto x1 = next_executed();
  CHECK(x1.spec.id == (task_id{5, 1}));
  CHECK_EQ(stats(r).queued, 3u);
  caf::anon_send(r, blocked_atom_v, x1.worker);
  auto x2 = next_executed();
  CHECK(x2.spec.id == (task_id{5, 2}));
  CHECK_EQ(x2.worker, 1u);
  auto rep = stats(r);
  CHECK_EQ(rep.workers, 2u);
  CHECK_EQ(rep.queued, 2u);
  CHECK_EQ(rep.running, 2u);
}

TEST_CASE_FIXTURE(raylet_fixture, "tasks run in submission order on one "
                                  "worker") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", true)));
  for (uint64_t n = 1; n <= 5; ++n)
    caf::anon_send(r, submit_atom_v, make_task(n));
  for (uint64_t n = 1; n <= 5; ++n) {
    auto x = next_executed();
    CHECK_EQ(x.spec.id.lo, n);
    CHECK_EQ(x.worker, 0u);
  }
  CHECK_EQ(stats(r).workers, 1u);
}

TEST_CASE_FIXTURE(raylet_fixture, "lookup of an unknown actor fails with "
                                  "actor_died") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 0,
                        fake_factory("a", true)));
  auto res = request_actor(r, caf::make_message(lookup_atom_v,
                                                actor_id{5, 6}));
  REQUIRE_FALSE(res);
  CHECK_EQ(code_of(res.error()), errc::actor_died);
  CHECK_EQ(render(res.error()),
           "actor_died: the actor is dead (actor "
           "00000000000000050000000000000006)");
}

TEST_CASE_FIXTURE(raylet_fixture, "a created actor is found by lookup until "
                                  "it dies") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 0,
                        fake_factory("a", true)));
  task_spec creation = make_task(1, {});
  creation.kind = static_cast<uint8_t>(task_kind::actor_create);
  creation.function = "Counter";
  creation.actor = actor_id{7, 8};
  auto created = request_actor(r, caf::make_message(create_actor_atom_v,
                                                    creation));
  REQUIRE(created);
  auto found = request_actor(r, caf::make_message(lookup_atom_v,
                                                  actor_id{7, 8}));
  REQUIRE(found);
  CHECK(*found == *created);
  caf::anon_send_exit(*created, caf::exit_reason::kill);
  (*self)->wait_for(*created);
  // The raylet learns of the death through its monitor; poll until it did.
  caf::expected<caf::actor> after = *created;
  for (int i = 0; i < 1000 && after; ++i) {
    after = request_actor(r, caf::make_message(lookup_atom_v,
                                               actor_id{7, 8}));
    if (after)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE_FALSE(after);
  CHECK_EQ(code_of(after.error()), errc::actor_died);
}

TEST_CASE_FIXTURE(raylet_fixture, "spawn_behavior passes the factory's error "
                                  "on") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 0,
                        fake_factory("a", true)));
  task_spec spec = make_task(1, {});
  spec.function = "fail";
  spec.actor = actor_id{1, 1};
  auto res = request_actor(r, caf::make_message(spawn_behavior_atom_v, spec));
  REQUIRE_FALSE(res);
  CHECK_EQ(code_of(res.error()), errc::unknown_actor_class);
  spec.function = "ok";
  auto ok = request_actor(r, caf::make_message(spawn_behavior_atom_v, spec));
  REQUIRE(ok);
  auto found = request_actor(r, caf::make_message(lookup_atom_v,
                                                  actor_id{1, 1}));
  REQUIRE(found);
  CHECK(*found == *ok);
}

TEST_CASE_FIXTURE(raylet_fixture, "with the real global scheduler a task "
                                  "infeasible here runs on the node that "
                                  "can take it") {
  auto global = spawn_global_scheduler(*sys);
  to_stop.push_back(caf::actor_cast<caf::actor>(global));
  auto store_b = spawn_object_store(*sys, node_id{2, 2}, gcs_router{}, 0);
  to_stop.push_back(caf::actor_cast<caf::actor>(store_b));
  auto a = spawn(config(node_id{1, 1}, {{"CPU", 1000}}, 1,
                        fake_factory("a", true)),
                 global);
  auto b = spawn(config(node_id{2, 2}, {{"CPU", 1000}, {"GPU", 1000}}, 1,
                        fake_factory("b", true)),
                 global, store_b);
  caf::anon_send(a, submit_atom_v, make_task(1, {{"GPU", 1000}}));
  auto x = next_executed();
  CHECK_EQ(x.node, "b");
  CHECK(x.spec.id == (task_id{5, 1}));
  // A CPU task submitted on a stays on a.
  caf::anon_send(a, submit_atom_v, make_task(2));
  auto y = next_executed();
  CHECK_EQ(y.node, "a");
  CHECK(y.spec.id == (task_id{5, 2}));
}

TEST_CASE_FIXTURE(raylet_fixture, "tasks pipeline on a busy worker; handed "
                                  "back tasks run elsewhere") {
  auto r = spawn(config(node_id{1, 2}, {{"CPU", 1000}}, 1,
                        fake_factory("a", false)));
  caf::anon_send(r, submit_atom_v, make_task(1));
  caf::anon_send(r, submit_atom_v, make_task(2));
  auto x1 = next_executed();
  auto x2 = next_executed();
  CHECK(x1.spec.id == (task_id{5, 1}));
  CHECK(x2.spec.id == (task_id{5, 2}));
  CHECK_EQ(x1.worker, 0u);
  CHECK_EQ(x2.worker, 0u);
  auto rep = stats(r);
  CHECK_EQ(rep.running, 2u);
  CHECK_EQ(rep.queued, 0u);
  CHECK(rep.available == resource_map{{"CPU", 0}});
  // Task 1 blocks in get: the worker hands task 2 back, and a new worker
  // runs it on the lent CPU.
  caf::anon_send(r, blocked_atom_v, uint32_t{0});
  caf::anon_send(r, handback_atom_v, uint32_t{0},
                 std::vector<task_spec>{x2.spec});
  auto again = next_executed();
  CHECK(again.spec.id == (task_id{5, 2}));
  CHECK_EQ(again.worker, 1u);
  auto after = stats(r);
  CHECK_EQ(after.running, 2u);
  CHECK_EQ(after.workers, 2u);
  CHECK(after.available == resource_map{{"CPU", 0}});
}
