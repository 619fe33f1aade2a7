// A driver's plain tasks in embedded mode go onto the queues of workers it
// leases from its raylet (api/detail/local_leases.hpp); everything else,
// and whatever a lease refuses, takes the raylet's path. Each case checks
// exact results and how many tasks went over leases.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "fixture.hpp"

using namespace api_test;

int lease_square(int x) {
  return x * x;
}

CAFRAY_REMOTE(lease_square);

/// Blocks in get on a task of its own (a nested graph).
int lease_nested(int x) {
  return cafray::get(cafray::task(lease_square).remote(x), patience) + 1;
}

CAFRAY_REMOTE(lease_nested);

namespace {

uint64_t leased_so_far() {
  auto& r = cafray::detail::rt();
  return r.leases ? r.leases->submitted() : 0;
}

/// Submits lease_square(0..n-1) from the driver and sums the results.
long sum_of_squares_below(int n) {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(cafray::task(lease_square).remote(i));
  long sum = 0;
  for (auto x : cafray::get(refs, patience))
    sum += x;
  return sum;
}

/// The CPUs (in thousandths) the raylet has free now.
int64_t free_cpu() {
  auto& r = cafray::detail::rt();
  int64_t result = -1;
  caf::scoped_actor self{*r.sys};
  self->request(r.raylet, patience, cafray::stats_atom_v)
    .receive(
      [&](cafray::load_report& rep) {
        auto i = rep.available.find("CPU");
        result = i == rep.available.end() ? 0 : i->second;
      },
      [&](caf::error&) {});
  return result;
}

/// Polls (bounded) until the raylet has `n` thousandths of CPU free.
int64_t free_cpu_eventually(int64_t n) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto x = free_cpu();
  while (x != n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    x = free_cpu();
  }
  return x;
}

} // namespace

TEST_SUITE("api.leases") {

TEST_CASE_FIXTURE(runtime_fixture, "a driver's plain tasks run on leased "
                                   "workers") {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < 300; ++i)
    refs.push_back(cafray::task(lease_square).remote(i));
  long sum = 0;
  for (auto x : cafray::get(refs, patience))
    sum += x;
  CHECK_EQ(sum, 8955050L);
  CHECK_EQ(leased_so_far(), 300u);
  // A task with a ref argument is the raylet's, even while leases last.
  auto dependent = cafray::task(lease_square).remote(refs[7]);
  CHECK_EQ(cafray::get(dependent, patience), 2401);
  CHECK_EQ(leased_so_far(), 300u);
}

TEST_CASE_FIXTURE(runtime_fixture, "a task that needs every CPU runs while "
                                   "the driver holds leases") {
  // The raylet revokes the leases it needs: their queued tasks still run.
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < 200; ++i)
    refs.push_back(cafray::task(lease_square).remote(i));
  auto wide = cafray::task(lease_square).resources({{"CPU", 2}}).remote(9);
  CHECK_EQ(cafray::get(wide, patience), 81);
  long sum = 0;
  for (auto x : cafray::get(refs, patience))
    sum += x;
  CHECK_EQ(sum, 2646700L);
  CHECK_GE(leased_so_far(), 1u);
  // And the driver leases again afterwards.
  auto before = leased_so_far();
  CHECK_EQ(cafray::get(cafray::task(lease_square).remote(12), patience), 144);
  CHECK_EQ(cafray::get(cafray::task(lease_square).remote(13), patience), 169);
  CHECK_GE(leased_so_far(), before + 1);
}

TEST_CASE_FIXTURE(runtime_fixture, "leased tasks that block in get hand what "
                                   "queued behind them to the raylet") {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < 40; ++i)
    refs.push_back(cafray::task(lease_nested).remote(i));
  std::vector<int> expected;
  for (int i = 0; i < 40; ++i)
    expected.push_back(i * i + 1);
  CHECK(cafray::get(refs, patience) == expected);
  CHECK_GE(leased_so_far(), 1u);
}

TEST_CASE_FIXTURE(runtime_fixture, "idle leases go back to the raylet") {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < 100; ++i)
    refs.push_back(cafray::task(lease_square).remote(i));
  CHECK_EQ(cafray::get(refs, patience).back(), 9801);
  CHECK_EQ(leased_so_far(), 100u);
  // Nothing asks for them: once idle past the linger, the workers end
  // their leases and the raylet has both CPUs free again.
  CHECK_EQ(free_cpu_eventually(2000), 2000);
  CHECK_EQ(cafray::get(cafray::task(lease_square).remote(6), patience), 36);
  CHECK_EQ(leased_so_far(), 101u);
}

TEST_CASE("with direct_tasks off every task takes the raylet's path") {
  auto cfg = test_config();
  cfg.direct_tasks = false;
  cafray::init(cfg);
  CHECK_EQ(sum_of_squares_below(50), 40425L);
  CHECK_EQ(leased_so_far(), 0u);
  cafray::shutdown();
}

} // TEST_SUITE
