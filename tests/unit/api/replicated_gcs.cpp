// The runtime on a chain-replicated GCS (gcs_replicas = 3): tasks, actors,
// put/get and error_info go on without a visible failure while replicas of
// the GCS die, and a configured GCS directory brings the data back.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "api/detail/runtime_state.hpp"
#include "../common/test_directory.hpp"
#include "fixture.hpp"

using namespace api_test;

int rg_square(int x) {
  return x * x;
}

int rg_fail(int x) {
  throw std::runtime_error("replicated failure " + std::to_string(x));
}

class Tally {
public:
  explicit Tally(int start) : total_(start) {
  }

  void add(int x) {
    total_ += x;
  }

  int total() const {
    return total_;
  }

private:
  int total_;
};

namespace {

cafray::runtime_config replicated_config() {
  auto cfg = test_config();
  cfg.gcs_replicas = 3;
  return cfg;
}

/// Kills replica `index` of GCS shard 0 of the running runtime.
void kill_gcs_replica(size_t index) {
  auto& chains = cafray::detail::rt().gcs.chains();
  REQUIRE_EQ(chains.size(), 1u);
  REQUIRE_EQ(chains[0].replicas.size(), 3u);
  caf::anon_send_exit(chains[0].replicas[index], caf::exit_reason::kill);
}

std::vector<cafray::error_record> errors_eventually(size_t n) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto xs = cafray::error_info();
  while (xs.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    xs = cafray::error_info();
  }
  return xs;
}

} // namespace

CAFRAY_REMOTE(rg_square);
CAFRAY_REMOTE(rg_fail);
CAFRAY_ACTOR(Tally, int);
CAFRAY_METHOD(Tally, add);
CAFRAY_METHOD(Tally, total);

TEST_SUITE("api.replicated_gcs") {

TEST_CASE("work goes on while replicas of the GCS die") {
  cafray::init(replicated_config());
  auto tally = cafray::actor<Tally>(0).name("tally").remote();
  std::vector<cafray::object_ref<int>> squares;
  for (int i = 0; i < 300; ++i) {
    squares.push_back(cafray::task(rg_square).remote(i));
    tally.call(&Tally::add, i);
    if (i == 100)
      kill_gcs_replica(0); // the head
    if (i == 200)
      kill_gcs_replica(2); // the tail
  }
  auto stored = cafray::put(std::string{"kept in the object store"});
  long sum = 0;
  for (auto x : cafray::get(squares, patience))
    sum += x;
  CHECK_EQ(sum, 8955050L); // sum of i^2 for i < 300
  CHECK_EQ(cafray::get(tally.call(&Tally::total), patience), 44850);
  CHECK_EQ(cafray::get(stored, patience), "kept in the object store");
  // The name table is read from the one replica left.
  auto found = cafray::get_actor<Tally>("tally");
  REQUIRE(found.has_value());
  CHECK(found->id() == tally.id());
  auto failed = cafray::task(rg_fail).remote(7);
  CHECK_THROWS_AS(cafray::get(failed, patience), cafray::task_error);
  auto errors = errors_eventually(1);
  REQUIRE_EQ(errors.size(), 1u);
  CHECK_EQ(errors[0].message, "replicated failure 7");
  cafray::shutdown();
}

TEST_CASE("a configured replicated GCS keeps its data across runtimes") {
  test_directory dir;
  auto cfg = replicated_config();
  cfg.gcs_directory = dir.path() + "/gcs";
  cafray::init(cfg);
  auto failed = cafray::task(rg_fail).remote(1);
  CHECK_THROWS_AS(cafray::get(failed, patience), cafray::task_error);
  REQUIRE_EQ(errors_eventually(1).size(), 1u);
  cafray::shutdown();
  cafray::init(cfg);
  auto errors = cafray::error_info();
  REQUIRE_EQ(errors.size(), 1u);
  CHECK_EQ(errors[0].message, "replicated failure 1");
  CHECK_EQ(errors[0].function, "rg_fail");
  cafray::shutdown();
}

} // TEST_SUITE
