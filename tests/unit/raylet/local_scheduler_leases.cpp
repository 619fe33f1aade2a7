// local_scheduler with workers leased out to drivers of the raylet's own
// process: whether a ready task is held back by those leases.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "raylet/local_scheduler.hpp"

using namespace cafray;

namespace {

task_spec lease_test_task(uint64_t n, resource_map demand) {
  task_spec spec;
  spec.id = task_id{21, n};
  spec.function = "f" + std::to_string(n);
  spec.resources = std::move(demand);
  return spec;
}

} // namespace

TEST_CASE("leases hold back a ready task only if their resources would let "
          "it run") {
  local_scheduler s{{{"CPU", 2000}, {"special", 1000}}, 2, 1};
  s.add_worker();
  s.add_worker();
  // Nothing ready: nothing held back.
  CHECK_FALSE(s.leases_hold_back_ready());
  auto leased = s.lease({{"CPU", 1000}});
  REQUIRE(leased >= 0);
  CHECK(s.leased(static_cast<uint32_t>(leased)));
  CHECK_FALSE(s.leases_hold_back_ready());
  // A special task takes the other worker, the last CPU and the special.
  std::vector<object_id> subscribe;
  s.submit(lease_test_task(1, {{"CPU", 1000}, {"special", 1000}}), subscribe);
  uint32_t want = 0;
  auto running = s.dispatch(want);
  REQUIRE_EQ(running.size(), 1u);
  CHECK_EQ(running[0].spec.id.lo, 1u);
  CHECK_EQ(s.ready(), 0u);
  // A second special task waits for the special, which no lease holds.
  s.submit(lease_test_task(2, {{"CPU", 1000}, {"special", 1000}}), subscribe);
  CHECK(s.dispatch(want).empty());
  CHECK_EQ(s.ready(), 1u);
  CHECK_FALSE(s.leases_hold_back_ready());
  // A plain task waits for a CPU, which the lease holds.
  s.submit(lease_test_task(3, {{"CPU", 1000}}), subscribe);
  CHECK(s.dispatch(want).empty());
  CHECK_EQ(s.ready(), 2u);
  CHECK(s.leases_hold_back_ready());
  // Without leases, a ready task waits for a worker: held back as before.
  local_scheduler plain{{{"CPU", 1000}}, 1, 1};
  plain.submit(lease_test_task(4, {{"CPU", 1000}}), subscribe);
  CHECK_EQ(plain.ready(), 1u);
  CHECK(plain.leases_hold_back_ready());
}
