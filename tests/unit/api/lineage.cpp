// Lineage in a running runtime: without compaction limits (the default)
// the GCS keeps every task record; with an age limit, finished lineage
// leaves once it is older, and unfinished lineage stays.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "fixture.hpp"
#include "proto/record_codec.hpp"

using namespace api_test;

int lineage_twice(int x) {
  return 2 * x;
}

CAFRAY_REMOTE(lineage_twice);

namespace {

std::atomic<bool> blocker_started{false};
std::atomic<bool> blocker_released{false};

} // namespace

/// Runs until the test releases it: its lineage stays unfinished meanwhile.
int lineage_blocker(int x) {
  blocker_started = true;
  while (!blocker_released)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return x;
}

CAFRAY_REMOTE(lineage_blocker);

namespace {

/// Task records in the GCS's tasks table, over every shard.
size_t lineage_records() {
  auto& r = cafray::detail::rt();
  size_t result = 0;
  caf::scoped_actor self{*r.sys};
  for (auto& shard : r.gcs.shards())
    self
      ->request(shard, patience, cafray::scan_atom_v,
                static_cast<uint8_t>(cafray::gcs_table::tasks), std::string{})
      .receive(
        [&](std::vector<cafray::kv_entry>& rows) {
          for (auto& row : rows)
            if (auto records = cafray::decode_segment(row.value))
              result += records->size();
        },
        [&](caf::error&) {});
  return result;
}

/// Polls (bounded) until `flag` is set; whether it is.
bool eventually(const std::atomic<bool>& flag) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!flag && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  return flag;
}

/// Polls (bounded) until the tasks table holds `n` records; what it holds.
size_t lineage_records_eventually(size_t n) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto x = lineage_records();
  while (x != n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    x = lineage_records();
  }
  return x;
}

long run_tasks(int from, int to) {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = from; i < to; ++i)
    refs.push_back(cafray::task(lineage_twice).remote(i));
  long sum = 0;
  for (auto x : cafray::get(refs, patience))
    sum += x;
  return sum;
}

} // namespace

TEST_SUITE("api.lineage") {

TEST_CASE("without limits the GCS keeps every task record") {
  auto cfg = test_config();
  cfg.heartbeat_interval_ms = 20;
  cafray::init(cfg);
  CHECK_EQ(run_tasks(0, 500), 249500L);
  CHECK_EQ(lineage_records_eventually(500), 500u);
  std::this_thread::sleep_for(200ms);
  CHECK_EQ(lineage_records(), 500u);
  cafray::shutdown();
}

TEST_CASE("with an age limit finished lineage leaves and unfinished stays") {
  // Only the age limit is set: nothing but age drops a record. Every
  // assertion waits for a state that, once reached, cannot change before
  // the test changes something, so that no timing can fail it.
  auto cfg = test_config();
  cfg.heartbeat_interval_ms = 20;
  cfg.gcs_lineage_max_age_s = 1;
  cafray::init(cfg);
  blocker_started = false;
  blocker_released = false;
  auto blocked = cafray::task(lineage_blocker).remote(7);
  REQUIRE(eventually(blocker_started));
  // The blocker's record is in the GCS: its segment closed before the other
  // tasks were submitted, so none of theirs shares it.
  REQUIRE_EQ(lineage_records_eventually(1), 1u);
  CHECK_EQ(run_tasks(0, 500), 249500L);
  // A second after their segments closed, the 500 finished records leave;
  // the blocker's unfinished one stays however old it gets.
  CHECK_EQ(lineage_records_eventually(1), 1u);
  // Older than the limit by now, still unfinished: still there (a record
  // of the 500 written late leaves in turn).
  std::this_thread::sleep_for(1200ms);
  CHECK_EQ(lineage_records_eventually(1), 1u);
  blocker_released = true;
  CHECK_EQ(cafray::get(blocked, patience), 7);
  // Finished now, and a second later gone as well.
  CHECK_EQ(lineage_records_eventually(0), 0u);
  cafray::shutdown();
}

} // TEST_SUITE
