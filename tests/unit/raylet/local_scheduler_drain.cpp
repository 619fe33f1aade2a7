// local_scheduler while its node drains: what it has not started comes
// out, what runs stays.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "raylet/local_scheduler.hpp"

using namespace cafray;

namespace {

task_spec make_task(uint64_t n, resource_map demand = {{"CPU", 1000}}) {
  task_spec spec;
  spec.id = task_id{11, n};
  spec.function = "f" + std::to_string(n);
  spec.resources = std::move(demand);
  return spec;
}

task_spec waiting_task(uint64_t n, uint64_t dep) {
  auto spec = make_task(n);
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::resolved);
  arg.ref = object_id{task_id{12, dep}, 1};
  spec.args.push_back(arg);
  return spec;
}

std::vector<uint64_t> numbers(const std::vector<task_spec>& specs) {
  std::vector<uint64_t> result;
  for (auto& spec : specs)
    result.push_back(spec.id.lo);
  return result;
}

} // namespace

TEST_CASE("take_queued takes ready and waiting tasks, oldest first, and "
          "leaves the running ones") {
  // No pipelining: one task runs, the others stay ready.
  local_scheduler s{{{"CPU", 1000}}, 1, 1};
  s.add_worker();
  std::vector<object_id> subscribe;
  s.submit(waiting_task(1, 1), subscribe);
  s.submit(make_task(2), subscribe);
  s.submit(waiting_task(3, 2), subscribe);
  s.submit(make_task(4), subscribe);
  s.submit(make_task(5), subscribe);
  CHECK_EQ(subscribe.size(), 2u);
  uint32_t want = 0;
  auto running = s.dispatch(want);
  REQUIRE_EQ(running.size(), 1u);
  CHECK_EQ(running[0].spec.id.lo, 2u);
  CHECK_EQ(s.ready(), 2u);
  CHECK_EQ(s.waiting(), 2u);
  // Ready ones first, in their order, then the waiting ones in theirs.
  CHECK_EQ(numbers(s.take_queued()), (std::vector<uint64_t>{4, 5, 1, 3}));
  CHECK_EQ(s.ready(), 0u);
  CHECK_EQ(s.waiting(), 0u);
  CHECK_EQ(s.running(), 1u);
  CHECK(s.available() == resource_map{{"CPU", 0}});
  // An object they waited for means nothing any more.
  s.object_ready(object_id{task_id{12, 1}, 1}, object_payload{});
  CHECK_EQ(s.ready(), 0u);
  CHECK(s.take_queued().empty());
  s.task_done(0);
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 1000}});
}

TEST_CASE("drain_requests asks every worker with tasks for all of them") {
  local_scheduler s{{{"CPU", 2000}}, 2, 8};
  auto w0 = s.add_worker();
  auto w1 = s.add_worker();
  auto w2 = s.add_worker();
  std::vector<object_id> subscribe;
  for (uint64_t n = 1; n <= 5; ++n)
    s.submit(make_task(n), subscribe);
  uint32_t want = 0;
  REQUIRE_EQ(s.dispatch(want).size(), 5u);
  // Two run on two workers, three queue behind them; the third is idle.
  CHECK_EQ(s.in_flight(w0), 0u);
  auto busy = w1;
  CHECK_EQ(s.in_flight(w0) + s.in_flight(w1) + s.in_flight(w2), 5u);
  auto reqs = s.drain_requests();
  uint32_t asked = 0;
  for (auto& req : reqs) {
    CHECK_EQ(req.count, s.in_flight(req.victim));
    asked += req.count;
  }
  CHECK_EQ(asked, 5u);
  // An idle worker is not asked; a worker asked is not robbed by steals.
  CHECK(s.steals().empty());
  // The workers give back what they had not started (all but one each).
  for (auto& req : reqs)
    s.handed_back(req.victim, req.count - 1);
  CHECK_EQ(s.running(), reqs.size());
  CHECK_EQ(s.in_flight(busy), 1u);
  // Each finishes its running task: nothing left, all resources free.
  for (auto& req : reqs)
    s.task_done(req.victim);
  CHECK_EQ(s.running(), 0u);
  CHECK(s.available() == resource_map{{"CPU", 2000}});
  CHECK(s.drain_requests().empty());
}
