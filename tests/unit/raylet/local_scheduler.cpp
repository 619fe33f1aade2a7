// local_scheduler: the raylet's policy without actors.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "raylet/local_scheduler.hpp"

using namespace cafray;

namespace {

using status = local_scheduler::worker_status;

task_id tid(uint64_t n) {
  return task_id{9, n};
}

object_id oid(uint64_t n) {
  return object_id{task_id{8, n}, 1};
}

task_spec make_task(uint64_t n, resource_map demand = {{"CPU", 1000}}) {
  task_spec spec;
  spec.id = tid(n);
  spec.function = "f" + std::to_string(n);
  spec.resources = std::move(demand);
  return spec;
}

task_arg value_arg(std::string bytes) {
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::value);
  arg.value = blob{blob::buffer(bytes.begin(), bytes.end())};
  return arg;
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

std::string str(const blob& b) {
  return std::string(b.data() ? b.data() : "", b.size());
}

std::string str(const object_payload& p) {
  return str(p.data);
}

/// Submits a task that the test expects to need no new subscriptions.
void submit(local_scheduler& s, task_spec spec) {
  std::vector<object_id> subscribe;
  s.submit(std::move(spec), subscribe);
  CHECK(subscribe.empty());
}

/// Pipelining off: a busy worker takes no second task.
constexpr uint32_t no_pipelining = 1;

std::vector<local_scheduler::assignment> dispatch(local_scheduler& s,
                                                  uint32_t expected_want = 0) {
  uint32_t want = 12345;
  auto result = s.dispatch(want);
  CHECK_EQ(want, expected_want);
  return result;
}

} // namespace

TEST_CASE("feasible compares the demand with the total capacity") {
  local_scheduler s{{{"CPU", 2000}, {"GPU", 1000}}};
  CHECK(s.feasible({}));
  CHECK(s.feasible({{"CPU", 2000}}));
  CHECK(s.feasible({{"CPU", 1500}, {"GPU", 1000}}));
  CHECK_FALSE(s.feasible({{"CPU", 2001}}));
  CHECK_FALSE(s.feasible({{"GPU", 1001}}));
  CHECK_FALSE(s.feasible({{"TPU", 1}}));
  // Zero (or negative) amounts of unknown resources demand nothing.
  CHECK(s.feasible({{"TPU", 0}, {"CPU", 1000}}));
  CHECK(s.feasible({{"TPU", -5}}));
  // Feasibility does not depend on what is in use.
  s.add_worker();
  submit(s, make_task(1, {{"CPU", 2000}}));
  CHECK_EQ(dispatch(s).size(), 1u);
  CHECK(s.feasible({{"CPU", 2000}}));
}

TEST_CASE("a task waiting for dependencies holds no worker and no resources") {
  local_scheduler s{{{"CPU", 1000}}};
  auto w = s.add_worker();
  auto spec = make_task(1);
  spec.args = {value_arg("v"), ref_arg(oid(1)), ref_arg(oid(2)),
               ref_arg(oid(1))};
  std::vector<object_id> subscribe;
  s.submit(spec, subscribe);
  CHECK(subscribe == std::vector<object_id>{oid(1), oid(2)});
  CHECK_EQ(s.waiting(), 1u);
  CHECK_EQ(s.ready(), 0u);
  CHECK(dispatch(s).empty());
  CHECK_EQ(s.status(w), status::idle);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  CHECK_EQ(s.running(), 0u);
  // A second task on oid(2) needs no second subscription.
  auto other = make_task(2);
  other.args = {ref_arg(oid(2))};
  submit(s, other);
  CHECK_EQ(s.waiting(), 2u);
  // An independent task runs meanwhile.
  submit(s, make_task(3));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK(a[0].spec.id == tid(3));
}

TEST_CASE("object_ready fills the arguments and moves the task to the ready "
          "queue") {
  local_scheduler s{{{"CPU", 1000}}};
  s.add_worker();
  auto spec = make_task(1);
  spec.args = {ref_arg(oid(1)), value_arg("inline"), ref_arg(oid(2)),
               ref_arg(oid(1))};
  std::vector<object_id> subscribe;
  s.submit(spec, subscribe);
  s.object_ready(oid(2), value("two"));
  CHECK_EQ(s.waiting(), 1u);
  CHECK_EQ(s.ready(), 0u);
  // An object nobody waits for changes nothing.
  s.object_ready(oid(3), value("three"));
  CHECK_EQ(s.waiting(), 1u);
  s.object_ready(oid(1), value("one"));
  CHECK_EQ(s.waiting(), 0u);
  CHECK_EQ(s.ready(), 1u);
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK(a[0].spec.id == tid(1));
  REQUIRE_EQ(a[0].resolved.size(), 4u);
  CHECK_EQ(str(a[0].resolved[0]), "one");
  CHECK(a[0].resolved[1].data.empty());  // inline values stay in the spec
  CHECK_EQ(str(a[0].spec.args[1].value), "inline");
  CHECK_EQ(str(a[0].resolved[2]), "two");
  CHECK_EQ(str(a[0].resolved[3]), "one");
  // A second notification of the same object is ignored.
  s.object_ready(oid(1), value("again"));
  CHECK_EQ(s.ready(), 0u);
}

TEST_CASE("a failed dependency still makes the task ready, carrying the "
          "failure") {
  local_scheduler s{{{"CPU", 1000}}};
  s.add_worker();
  auto spec = make_task(1);
  spec.args = {ref_arg(oid(1))};
  std::vector<object_id> subscribe;
  s.submit(spec, subscribe);
  object_payload failed;
  failed.error_code = 4;
  failed.error.message = "lost";
  s.object_ready(oid(1), failed);
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK(a[0].resolved[0].failed());
  CHECK_EQ(a[0].resolved[0].error.message, "lost");
}

TEST_CASE("dispatch respects resources and idle workers") {
  local_scheduler s{{{"CPU", 2000}, {"GPU", 1000}}, 64, no_pipelining};
  auto w0 = s.add_worker();
  auto w1 = s.add_worker();
  auto w2 = s.add_worker();
  submit(s, make_task(1, {{"CPU", 1000}, {"GPU", 1000}}));
  submit(s, make_task(2, {{"GPU", 1000}}));  // must wait for the GPU
  submit(s, make_task(3, {{"CPU", 1000}}));
  submit(s, make_task(4, {{"CPU", 1000}}));  // must wait for a CPU
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 2u);
  CHECK(a[0].spec.id == tid(1));
  CHECK(a[1].spec.id == tid(3));
  CHECK(s.available() == resource_map{{"CPU", 0}, {"GPU", 0}});
  CHECK_EQ(s.running(), 2u);
  CHECK_EQ(s.ready(), 2u);
  // Workers are taken from the back of the idle list.
  CHECK_EQ(a[0].worker, w2);
  CHECK_EQ(a[1].worker, w1);
  CHECK_EQ(s.status(w0), status::idle);
  CHECK_EQ(s.status(w1), status::busy);
  CHECK_EQ(s.status(w2), status::busy);
  CHECK(dispatch(s).empty());
}

TEST_CASE("dispatch with free resources but no idle worker wants a worker "
          "per task, up to max_workers") {
  local_scheduler s{{{"CPU", 4000}}, 2, no_pipelining};
  submit(s, make_task(1));
  submit(s, make_task(2));
  CHECK(dispatch(s, 2).empty());
  auto w0 = s.add_worker();
  auto a = dispatch(s, 1);
  REQUIRE_EQ(a.size(), 1u);
  CHECK_EQ(a[0].worker, w0);
  CHECK(a[0].spec.id == tid(1));
  s.add_worker();
  CHECK_EQ(dispatch(s, 0).size(), 1u);
  // At max_workers: more work wants no more workers.
  submit(s, make_task(3));
  CHECK(dispatch(s, 0).empty());
  CHECK_EQ(s.workers(), 2u);
}

TEST_CASE("want_workers counts only workers that could start work now") {
  local_scheduler s{{{"CPU", 2500}}, 64, no_pipelining};
  for (uint64_t n = 1; n <= 5; ++n)
    submit(s, make_task(n));
  // 2.5 CPUs: two tasks of one CPU could start, not five.
  CHECK(dispatch(s, 2).empty());
  // Counting reserved nothing.
  CHECK(s.available() == resource_map{{"CPU", 2500}});
  s.add_worker();
  s.add_worker();
  auto a = dispatch(s, 0);
  REQUIRE_EQ(a.size(), 2u);
  CHECK(a[0].spec.id == tid(1));
  CHECK(a[1].spec.id == tid(2));
  CHECK(s.available() == resource_map{{"CPU", 500}});
}

TEST_CASE("no worker is wanted for a task that does not fit") {
  local_scheduler s{{{"CPU", 1000}}, 64, no_pipelining};
  s.add_worker();
  submit(s, make_task(1));
  CHECK_EQ(dispatch(s).size(), 1u);
  submit(s, make_task(2));
  CHECK(dispatch(s, 0).empty());
}

TEST_CASE("task_done frees the worker and its resources") {
  local_scheduler s{{{"CPU", 1000}, {"mem", 500}}, 64, no_pipelining};
  auto w = s.add_worker();
  submit(s, make_task(1, {{"CPU", 1000}, {"mem", 200}}));
  submit(s, make_task(2, {{"CPU", 1000}}));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK(s.available() == resource_map{{"CPU", 0}, {"mem", 300}});
  s.task_done(w);
  CHECK(s.available() == resource_map{{"CPU", 1000}, {"mem", 500}});
  CHECK_EQ(s.status(w), status::idle);
  CHECK_EQ(s.running(), 0u);
  auto b = dispatch(s);
  REQUIRE_EQ(b.size(), 1u);
  CHECK(b[0].spec.id == tid(2));
  CHECK_EQ(b[0].worker, w);
  // Unknown worker indices are ignored.
  s.task_done(99);
  CHECK_EQ(s.running(), 1u);
}

TEST_CASE("a blocked worker lends its CPU; unblocking takes it back even if "
          "that oversubscribes") {
  local_scheduler s{{{"CPU", 1000}}, 64, no_pipelining};
  auto w0 = s.add_worker();
  auto w1 = s.add_worker();
  submit(s, make_task(1));
  submit(s, make_task(2));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  auto first = a[0].worker;
  auto second = first == w0 ? w1 : w0;
  CHECK(s.available() == resource_map{{"CPU", 0}});
  s.worker_blocked(first);
  CHECK_EQ(s.status(first), status::blocked);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  auto b = dispatch(s);
  REQUIRE_EQ(b.size(), 1u);
  CHECK(b[0].spec.id == tid(2));
  CHECK_EQ(b[0].worker, second);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  CHECK_EQ(s.running(), 2u);
  s.worker_unblocked(first);
  CHECK_EQ(s.status(first), status::busy);
  CHECK(s.available() == resource_map{{"CPU", -1000}});
  // Blocking twice or unblocking an unblocked worker changes nothing.
  s.worker_unblocked(first);
  CHECK(s.available() == resource_map{{"CPU", -1000}});
  s.task_done(second);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  s.task_done(first);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  CHECK_EQ(s.running(), 0u);
}

TEST_CASE("a worker that finishes while blocked does not return resources "
          "twice") {
  local_scheduler s{{{"CPU", 1000}}};
  auto w = s.add_worker();
  submit(s, make_task(1));
  REQUIRE_EQ(dispatch(s).size(), 1u);
  s.worker_blocked(w);
  s.worker_blocked(w);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  s.task_done(w);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  CHECK_EQ(s.status(w), status::idle);
}

TEST_CASE("dispatch is FIFO among tasks that fit") {
  local_scheduler s{{{"CPU", 1000}}, 64, no_pipelining};
  auto w = s.add_worker();
  for (uint64_t n = 1; n <= 5; ++n)
    submit(s, make_task(n));
  std::vector<uint64_t> order;
  for (int i = 0; i < 5; ++i) {
    auto a = dispatch(s);
    REQUIRE_EQ(a.size(), 1u);
    order.push_back(a[0].spec.id.lo);
    s.task_done(w);
  }
  CHECK(order == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK_EQ(s.ready(), 0u);
}

TEST_CASE("tasks become ready in the order their dependencies arrive") {
  local_scheduler s{{{"CPU", 3000}}};
  for (int i = 0; i < 3; ++i)
    s.add_worker();
  for (uint64_t n = 1; n <= 3; ++n) {
    auto spec = make_task(n);
    spec.args = {ref_arg(oid(n))};
    std::vector<object_id> subscribe;
    s.submit(spec, subscribe);
  }
  s.object_ready(oid(3), value("c"));
  s.object_ready(oid(1), value("a"));
  s.object_ready(oid(2), value("b"));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 3u);
  CHECK(a[0].spec.id == tid(3));
  CHECK(a[1].spec.id == tid(1));
  CHECK(a[2].spec.id == tid(2));
}

TEST_CASE("pipelining queues tasks of the same demand on a busy worker, in "
          "order, up to the depth") {
  local_scheduler s{{{"CPU", 1000}}, 64, 3};
  auto w = s.add_worker();
  for (uint64_t n = 1; n <= 4; ++n)
    submit(s, make_task(n));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 3u);
  for (uint64_t n = 1; n <= 3; ++n) {
    CHECK(a[n - 1].spec.id == tid(n));
    CHECK_EQ(a[n - 1].worker, w);
  }
  CHECK_EQ(s.in_flight(w), 3u);
  CHECK_EQ(s.running(), 3u);
  CHECK_EQ(s.ready(), 1u);
  // The worker holds the demand once, however many tasks queue on it.
  CHECK(s.available() == resource_map{{"CPU", 0}});
  // One finishes: the worker stays busy and takes the fourth.
  s.task_done(w);
  CHECK_EQ(s.status(w), status::busy);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  auto b = dispatch(s);
  REQUIRE_EQ(b.size(), 1u);
  CHECK(b[0].spec.id == tid(4));
  for (int i = 0; i < 3; ++i)
    s.task_done(w);
  CHECK_EQ(s.status(w), status::idle);
  CHECK_EQ(s.in_flight(w), 0u);
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  // A stray done of an idle worker changes nothing.
  s.task_done(w);
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
}

TEST_CASE("pipelining needs the same demand") {
  local_scheduler s{{{"CPU", 1000}}};
  auto w = s.add_worker();
  submit(s, make_task(1, {{"CPU", 1000}}));
  submit(s, make_task(2, {{"CPU", 500}}));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK_EQ(s.in_flight(w), 1u);
  CHECK_EQ(s.ready(), 1u);
}

TEST_CASE("free resources start a new worker rather than pipeline") {
  local_scheduler s{{{"CPU", 2000}}};
  auto w = s.add_worker();
  submit(s, make_task(1));
  submit(s, make_task(2));
  auto a = dispatch(s, 1);
  REQUIRE_EQ(a.size(), 1u);
  CHECK_EQ(s.in_flight(w), 1u);
  auto w1 = s.add_worker();
  auto b = dispatch(s);
  REQUIRE_EQ(b.size(), 1u);
  CHECK_EQ(b[0].worker, w1);
}

TEST_CASE("a blocked worker hands back its queued tasks") {
  local_scheduler s{{{"CPU", 1000}}};
  auto w = s.add_worker();
  for (uint64_t n = 1; n <= 3; ++n)
    submit(s, make_task(n));
  REQUIRE_EQ(dispatch(s).size(), 3u);
  CHECK_EQ(s.running(), 3u);
  s.worker_blocked(w);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  // A blocked worker is no pipeline target.
  submit(s, make_task(4));
  CHECK(dispatch(s, 1).empty());
  s.handed_back(w, 2);
  CHECK_EQ(s.in_flight(w), 1u);
  CHECK_EQ(s.running(), 1u);
  // More than it holds: capped.
  s.handed_back(w, 5);
  CHECK_EQ(s.in_flight(w), 0u);
  CHECK_EQ(s.running(), 0u);
}

TEST_CASE("an idle worker steals half the tasks queued on a busy one") {
  // At most one worker wanted at first, so all six queue on it.
  local_scheduler s{{{"CPU", 2000}}, 1, 8};
  auto w0 = s.add_worker();
  for (uint64_t n = 1; n <= 6; ++n)
    submit(s, make_task(n));
  REQUIRE_EQ(dispatch(s).size(), 6u);
  CHECK_EQ(s.in_flight(w0), 6u);
  // No idle worker: nothing to steal for.
  CHECK(s.steals().empty());
  auto w1 = s.add_worker();
  auto req = s.steals();
  REQUIRE_EQ(req.size(), 1u);
  CHECK_EQ(req[0].victim, w0);
  CHECK_EQ(req[0].count, 3u);
  // One request in flight per victim.
  CHECK(s.steals().empty());
  // The victim gives back three; they go to the idle worker.
  s.handed_back(w0, 3);
  CHECK_EQ(s.in_flight(w0), 3u);
  for (uint64_t n = 4; n <= 6; ++n)
    submit(s, make_task(n));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 3u);
  for (auto& x : a)
    CHECK_EQ(x.worker, w1);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  CHECK(s.steals().empty());
}

TEST_CASE("no steal while tasks are ready, for a single queued task, or "
          "when the thief could not take the resources") {
  SUBCASE("ready tasks go to the idle worker instead") {
    local_scheduler s{{{"CPU", 1000}, {"GPU", 1000}}, 64, 8};
    auto w0 = s.add_worker();
    for (uint64_t n = 1; n <= 4; ++n)
      submit(s, make_task(n));
    REQUIRE_EQ(dispatch(s).size(), 4u);
    s.add_worker();
    submit(s, make_task(5, {{"GPU", 1000}}));
    // Task 5 fits and is ready: dispatch it first; then steal.
    CHECK_EQ(dispatch(s).size(), 1u);
    CHECK(s.steals().empty());  // the second worker is busy now
    CHECK_EQ(s.in_flight(w0), 4u);
  }
  SUBCASE("a worker with one task has nothing queued") {
    local_scheduler s{{{"CPU", 2000}}, 64, 8};
    s.add_worker();
    submit(s, make_task(1));
    REQUIRE_EQ(dispatch(s).size(), 1u);
    s.add_worker();
    CHECK(s.steals().empty());
  }
  SUBCASE("the victim holds the only CPU") {
    local_scheduler s{{{"CPU", 1000}}, 64, 8};
    s.add_worker();
    for (uint64_t n = 1; n <= 4; ++n)
      submit(s, make_task(n));
    REQUIRE_EQ(dispatch(s).size(), 4u);
    s.add_worker();
    CHECK(s.steals().empty());
  }
}

TEST_CASE("a steal that finds nothing is not repeated until the victim "
          "reports") {
  local_scheduler s{{{"CPU", 2000}}, 1, 8};
  auto w0 = s.add_worker();
  for (uint64_t n = 1; n <= 4; ++n)
    submit(s, make_task(n));
  REQUIRE_EQ(dispatch(s).size(), 4u);
  s.add_worker();
  REQUIRE_EQ(s.steals().size(), 1u);
  // Its queue had run dry (finished tasks not yet reported).
  s.handed_back(w0, 0);
  CHECK_EQ(s.in_flight(w0), 4u);
  CHECK(s.steals().empty());
  // A report makes it a victim again.
  s.task_done(w0);
  auto req = s.steals();
  REQUIRE_EQ(req.size(), 1u);
  CHECK_EQ(req[0].count, 1u);
}

TEST_CASE("a dead worker frees what it held, is never used again and makes "
          "room for a new one") {
  local_scheduler s{{{"CPU", 2000}}, 2, 4};
  auto w0 = s.add_worker();
  auto w1 = s.add_worker();
  for (uint64_t n = 1; n <= 4; ++n)
    submit(s, make_task(n));
  // Two run, two pipeline behind them.
  CHECK_EQ(dispatch(s).size(), 4u);
  CHECK_EQ(s.running(), 4u);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  CHECK_EQ(s.in_flight(w1) + s.in_flight(w0), 4u);
  auto lost = s.in_flight(w1);
  s.worker_died(w1);
  CHECK_EQ(s.status(w1), status::dead);
  CHECK_EQ(s.in_flight(w1), 0u);
  CHECK_EQ(s.running(), 4u - lost);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  CHECK_EQ(s.workers(), 1u);
  // Dying twice changes nothing; reports of the dead worker are ignored.
  s.worker_died(w1);
  s.task_done(w1);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  // Its tasks come back (the raylet re-submits them): a CPU is free and
  // max_workers counts live workers only, so a new worker is wanted.
  submit(s, make_task(5));
  CHECK(dispatch(s, 1).empty());
  auto w2 = s.add_worker();
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 1u);
  CHECK_EQ(a[0].worker, w2);
  CHECK_EQ(s.status(w1), status::dead);
}

TEST_CASE("a leased worker holds its demand and takes no task of the queue") {
  local_scheduler s{{{"CPU", 2000}}, 2, 8};
  auto w1 = s.add_worker();
  auto w2 = s.add_worker();
  auto leased = s.lease({{"CPU", 1000}});
  REQUIRE_GE(leased, 0);
  auto l = static_cast<uint32_t>(leased);
  CHECK(s.leased(l));
  CHECK_EQ(s.status(l), status::busy);
  CHECK_EQ(s.in_flight(l), 1u);
  CHECK_EQ(s.running(), 1u);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  // The queue's tasks go to the other worker, and pipeline on it only.
  auto other = l == w1 ? w2 : w1;
  for (uint64_t n = 1; n <= 3; ++n)
    submit(s, make_task(n));
  auto a = dispatch(s);
  REQUIRE_EQ(a.size(), 3u);
  for (auto& x : a)
    CHECK_EQ(x.worker, other);
  CHECK_EQ(s.in_flight(l), 1u);
  // No steal from a lease, and a drain asks nothing of it.
  for (int i = 0; i < 3; ++i)
    s.task_done(other);
  CHECK(s.steals().empty());
  for (auto& req : s.drain_requests())
    CHECK_NE(req.victim, l);
  // Nothing more to lease: the other worker is idle but no CPU is free...
  submit(s, make_task(4));
  dispatch(s);
  CHECK_EQ(s.lease({{"CPU", 1000}}), -1);
  s.task_done(other);
  // ...and a demand that does not fit is refused too.
  CHECK_EQ(s.lease({{"CPU", 2000}}), -1);
  // The lease ends like a task: the worker is idle, its CPU free.
  s.task_done(l);
  CHECK_FALSE(s.leased(l));
  CHECK_EQ(s.status(l), status::idle);
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 2000}});
}

TEST_CASE("a leased worker that dies frees its demand") {
  local_scheduler s{{{"CPU", 1000}}, 2, 8};
  s.add_worker();
  auto l = s.lease({{"CPU", 1000}});
  REQUIRE_GE(l, 0);
  CHECK_EQ(s.lease({{"CPU", 1000}}), -1);  // no idle worker left
  s.worker_died(static_cast<uint32_t>(l));
  CHECK_FALSE(s.leased(static_cast<uint32_t>(l)));
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
  CHECK_EQ(s.lease({{"CPU", 1000}}), -1);  // dead, never leased again
}
