// The raylet's actors in worker processes of their own, with stand-ins for
// the processes: each "process" is an actor that attaches and registers
// the way `caf-node worker --actor` does.

#include <doctest/doctest.h>

#include <memory>
#include <mutex>
#include <vector>

#include "raylet_fixture.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

/// Pids the raylet started and stopped, as the fake processes report them.
struct process_log {
  std::mutex mtx;
  int32_t next_pid = 100;
  std::vector<int32_t> stopped;
};

/// A worker factory whose actor processes are actors of this system.
worker_factory process_factory(raylet_fixture& fx,
                               std::shared_ptr<raylet_actor> raylet,
                               std::shared_ptr<process_log> log) {
  auto f = fx.fake_factory("a", true);
  auto sys = fx.sys.get();
  f.actor_process = [=](const task_spec& creation) {
    int32_t pid;
    {
      std::lock_guard<std::mutex> guard{log->mtx};
      pid = log->next_pid++;
    }
    auto r = *raylet;
    auto id = creation.actor;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(r, std::chrono::seconds{10}, attach_atom_v, id, pid)
        .then([=](task_spec& spec) {
          auto hosted = self->system().spawn(idle_actor);
          caf::anon_send(r, register_atom_v, spec.actor,
                         caf::actor_cast<caf::actor>(hosted),
                         static_cast<uint16_t>(4000 + pid));
          self->quit();
        });
    });
    return pid;
  };
  f.stop_process = [=](int32_t pid) {
    std::lock_guard<std::mutex> guard{log->mtx};
    log->stopped.push_back(pid);
  };
  return f;
}

task_spec creation(uint64_t n, resource_map demand) {
  task_spec spec;
  spec.id = task_id{5, n};
  spec.kind = static_cast<uint8_t>(task_kind::actor_create);
  spec.function = "Counter";
  spec.actor = actor_id{6, n};
  spec.resources = std::move(demand);
  return spec;
}

} // namespace

TEST_CASE_FIXTURE(raylet_fixture, "an actor in a process of its own holds "
                                  "its resources until it dies") {
  auto raylet = std::make_shared<raylet_actor>();
  auto log = std::make_shared<process_log>();
  raylet_config rc;
  rc.node = node_id{1, 2};
  rc.resources = {{"CPU", 1000}, {"special", 1000}};
  rc.num_workers = 0;
  rc.address = "127.0.0.1:7000";
  rc.factory = process_factory(*this, raylet, log);
  auto r = spawn(std::move(rc));
  *raylet = r;
  caf::actor first;
  (*self)
    ->request(r, max_wait, create_actor_atom_v,
              creation(1, {{"special", 1000}}))
    .receive(
      [&](actor_location& loc) {
        CHECK_EQ(loc.address, "127.0.0.1:4100");
        CHECK_EQ(loc.pid, 100);
        CHECK(loc.node == (node_id{1, 2}));
        first = loc.handle;
      },
      [&](caf::error& err) { FAIL(render(err)); });
  REQUIRE(first);
  CHECK_EQ(stats(r).available.at("special"), 0);
  // The second one waits for "special": its answer comes once the first
  // actor is dead.
  auto obs = observer();
  sys->spawn([=](caf::event_based_actor* asker) {
    asker->request(r, std::chrono::seconds{10}, create_actor_atom_v,
                   creation(2, {{"special", 1000}}))
      .then([=](actor_location& loc) { caf::anon_send(obs, loc); });
  });
  bool early = false;
  (*self)->receive([&](actor_location&) { early = true; },
                   caf::after(std::chrono::milliseconds{200}) >> [] {});
  CHECK_FALSE(early);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  actor_location second;
  (*self)->receive([&](actor_location& loc) { second = std::move(loc); },
                   caf::after(max_wait) >> [] {});
  CHECK_EQ(second.pid, 101);
  CHECK_EQ(second.address, "127.0.0.1:4101");
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    CHECK_EQ(log->stopped, std::vector<int32_t>{100});
  }
  (*self)
    ->request(r, max_wait, lookup_atom_v, actor_id{6, 1})
    .receive([&](actor_location&) { FAIL("the first actor is dead"); },
             [&](caf::error& err) {
               CHECK_EQ(code_of(err), errc::actor_died);
             });
  (*self)
    ->request(r, max_wait, lookup_atom_v, actor_id{6, 2})
    .receive([&](actor_location& loc) { CHECK_EQ(loc.pid, 101); },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(stats(r).available.at("special"), 0);
  caf::anon_send_exit(second.handle, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(raylet_fixture, "an actor a raylet can never host fails "
                                  "with infeasible") {
  auto raylet = std::make_shared<raylet_actor>();
  auto log = std::make_shared<process_log>();
  raylet_config rc;
  rc.node = node_id{1, 2};
  rc.resources = {{"CPU", 1000}};
  rc.num_workers = 0;
  rc.factory = process_factory(*this, raylet, log);
  auto r = spawn(std::move(rc));
  *raylet = r;
  (*self)
    ->request(r, max_wait, create_actor_atom_v,
              creation(1, {{"special", 1000}}))
    .receive([&](actor_location&) { FAIL("created"); },
             [&](caf::error& err) {
               CHECK_EQ(code_of(err), errc::infeasible);
             });
}
