// A raylet draining (its node leaves on SIGTERM), with fake workers and a
// fake global scheduler, in one process.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "raylet_fixture.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

task_spec make_task(uint64_t n) {
  task_spec spec;
  spec.id = task_id{7, n};
  spec.function = "f" + std::to_string(n);
  spec.resources = {{"CPU", 1000}};
  spec.max_retries = 3;
  return spec;
}

raylet_config config(worker_factory factory) {
  raylet_config rc;
  rc.node = node_id{4, 4};
  rc.resources = {{"CPU", 1000}};
  rc.num_workers = 1;
  rc.factory = std::move(factory);
  return rc;
}

std::vector<uint64_t> numbers(const std::vector<task_spec>& specs) {
  std::vector<uint64_t> result;
  for (auto& spec : specs)
    result.push_back(spec.id.lo);
  return result;
}

} // namespace

TEST_CASE_FIXTURE(raylet_fixture, "a draining raylet hands back what it has "
                                  "not started, passes on what arrives and "
                                  "answers once the running task is done") {
  auto global = spawn_fake_global();
  auto r = spawn(config(fake_factory("a", false)), global);
  caf::anon_send(r, members_atom_v, uint32_t{2});
  // Tasks 1 and 2 go to the one worker (2 queued behind 1); task 3 waits
  // for an object nobody made.
  auto waiting = make_task(3);
  waiting.args.resize(1);
  waiting.args[0].kind = static_cast<uint8_t>(arg_kind::resolved);
  waiting.args[0].ref = object_id{task_id{6, 6}, 1};
  caf::anon_send(r, submit_atom_v,
                 std::vector<task_spec>{make_task(1), make_task(2), waiting},
                 observer());
  auto x1 = next_executed();
  auto x2 = next_executed();
  CHECK_EQ(x1.spec.id.lo, 1u);
  CHECK_EQ(x2.spec.id.lo, 2u);
  CHECK_EQ(stats(r).running, 2u);
  // A plain send: the answer comes back as a message.
  (*self)->send(r, drain_atom_v, uint64_t{60000});
  bool told = false;
  (*self)->receive(
    [&](drain_atom, const node_id& node) {
      told = true;
      CHECK(node == (node_id{4, 4}));
    },
    caf::after(max_wait) >> [] {});
  CHECK_MESSAGE(told, "the global scheduler never heard of the drain");
  auto [queued, owner] = next_spilled_batch();
  CHECK_EQ(numbers(queued), std::vector<uint64_t>{3});
  CHECK(owner == observer());
  // The worker gives back task 2, which it had not started.
  caf::anon_send(r, handback_atom_v, uint32_t{0},
                 std::vector<task_spec>{x2.spec});
  auto [back, back_owner] = next_spilled_batch();
  CHECK_EQ(numbers(back), std::vector<uint64_t>{2});
  CHECK(back_owner == observer());
  // New work is passed on at once, submitted or placed.
  caf::anon_send(r, submit_atom_v, std::vector<task_spec>{make_task(4)},
                 observer());
  auto [arrived, arrived_owner] = next_spilled_batch();
  CHECK_EQ(numbers(arrived), std::vector<uint64_t>{4});
  caf::anon_send(r, place_atom_v, make_task(5));
  CHECK_EQ(next_spilled().id.lo, 5u);
  auto rep = stats(r);
  CHECK_EQ(rep.queued, 0u);
  CHECK_EQ(rep.running, 1u);
  // Task 1 finishes: nothing runs here any more.
  send_done(r, 0, x1.spec.id);
  drain_report report;
  bool answered = false;
  (*self)->receive(
    [&](drain_report& x) {
      report = x;
      answered = true;
    },
    caf::after(max_wait) >> [] {});
  REQUIRE_MESSAGE(answered, "the drain was never answered");
  CHECK_EQ(report.handed_back, 2u);
  CHECK_EQ(report.redirected, 2u);
  CHECK_EQ(report.finished, 1u);
  CHECK_EQ(report.retried, 0u);
  CHECK_EQ(report.failed, 0u);
}

TEST_CASE_FIXTURE(raylet_fixture, "a drain of an idle raylet is answered at "
                                  "once; a second drain fails") {
  auto global = spawn_fake_global();
  auto r = spawn(config(fake_factory("a", false)), global);
  drain_report report;
  report.finished = 99;
  (*self)
    ->request(r, max_wait, drain_atom_v, uint64_t{60000})
    .receive([&](drain_report& x) { report = x; },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(report.handed_back, 0u);
  CHECK_EQ(report.finished, 0u);
  caf::error failure;
  (*self)
    ->request(r, max_wait, drain_atom_v, uint64_t{60000})
    .receive([&](drain_report&) {},
             [&](caf::error& err) { failure = std::move(err); });
  CHECK(failure);
}

TEST_CASE_FIXTURE(raylet_fixture, "a drain whose tasks outlive its timeout "
                                  "is answered at the timeout") {
  auto global = spawn_fake_global();
  auto r = spawn(config(fake_factory("a", false)), global);
  caf::anon_send(r, submit_atom_v, make_task(1));
  CHECK_EQ(next_executed().spec.id.lo, 1u);
  drain_report report;
  report.finished = 99;
  (*self)
    ->request(r, max_wait, drain_atom_v, uint64_t{50})
    .receive([&](drain_report& x) { report = x; },
             [&](caf::error& err) { FAIL(render(err)); });
  // Threads, not processes: the running task ends with the node.
  CHECK_EQ(report.finished, 0u);
  CHECK_EQ(report.retried, 0u);
  CHECK_EQ(report.failed, 0u);
  CHECK_EQ(stats(r).running, 1u);
}
