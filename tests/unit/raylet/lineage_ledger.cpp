// Which lineage segments hold only finished work, and which of those the
// limits drop: exact segment and record counts.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proto/record_codec.hpp"
#include "raylet/lineage_ledger.hpp"

using namespace cafray;
using namespace std::chrono_literals;

namespace {

using clock_type = lineage_ledger::clock;

task_id ledger_task(uint64_t n) {
  return task_id{7, n};
}

/// Records tasks [from, to) as pending, then closes the segment as "s<n>".
void segment_of(lineage_ledger& ledger, uint64_t from, uint64_t to,
                clock_type::time_point at) {
  for (auto n = from; n < to; ++n)
    ledger.recorded(ledger_task(n), true);
  ledger.closed("s" + std::to_string(from / 100), at);
}

} // namespace

TEST_CASE("lineage ledger: the count limit drops finished segments only") {
  lineage_ledger ledger{lineage_limits{250, 0s}};
  auto t0 = clock_type::now();
  // 1000 tasks in 10 segments of 100.
  for (uint64_t s = 0; s < 10; ++s)
    segment_of(ledger, s * 100, s * 100 + 100, t0);
  CHECK_EQ(ledger.segments(), 10u);
  CHECK_EQ(ledger.records(), 1000u);
  CHECK_EQ(ledger.pending(), 1000u);
  // Nothing finished: nothing goes, whatever the limit.
  CHECK(ledger.compact(t0).empty());
  // Everything finishes but task 350 (segment 3).
  for (uint64_t n = 0; n < 1000; ++n)
    if (n != 350)
      ledger.finished(ledger_task(n));
  CHECK_EQ(ledger.pending(), 1u);
  // Dropped oldest first until at most 250 records are left; segment 3 is
  // kept (and counted) while task 350 runs.
  CHECK_EQ(ledger.compact(t0), (std::vector<std::string>{"s0", "s1", "s2",
                                                         "s4", "s5", "s6",
                                                         "s7", "s8"}));
  CHECK_EQ(ledger.segments(), 2u);
  CHECK_EQ(ledger.records(), 200u);
  CHECK(ledger.compact(t0).empty());
  // Finished, segment 3 is within the limit: it stays until newer work
  // pushes the count over.
  ledger.finished(ledger_task(350));
  CHECK(ledger.compact(t0).empty());
  segment_of(ledger, 1000, 1100, t0);
  CHECK_EQ(ledger.records(), 300u);
  CHECK_EQ(ledger.compact(t0), std::vector<std::string>{"s3"});
  CHECK_EQ(ledger.records(), 200u);
  CHECK_EQ(ledger.segments(), 2u);
}

TEST_CASE("lineage ledger: the age limit drops old finished segments") {
  lineage_ledger ledger{lineage_limits{0, 60s}};
  auto t0 = clock_type::now();
  segment_of(ledger, 0, 100, t0);
  segment_of(ledger, 100, 200, t0 + 30s);
  segment_of(ledger, 200, 300, t0 + 90s);
  for (uint64_t n = 0; n < 300; ++n)
    ledger.finished(ledger_task(n));
  CHECK(ledger.compact(t0 + 60s).empty());
  CHECK_EQ(ledger.compact(t0 + 61s), std::vector<std::string>{"s0"});
  CHECK_EQ(ledger.compact(t0 + 100s), std::vector<std::string>{"s1"});
  CHECK_EQ(ledger.records(), 100u);
  CHECK_EQ(ledger.compact(t0 + 151s), std::vector<std::string>{"s2"});
  CHECK_EQ(ledger.segments(), 0u);
  CHECK_EQ(ledger.records(), 0u);
}

TEST_CASE("lineage ledger: a later record supersedes, non-pending holds "
          "nothing") {
  lineage_ledger ledger{lineage_limits{1, 0s}};
  auto t0 = clock_type::now();
  // Segment 0: task 1 pending, task 2 handed to the global scheduler.
  ledger.recorded(ledger_task(1), true);
  ledger.recorded(ledger_task(2), false);
  ledger.closed("a", t0);
  CHECK_EQ(ledger.pending(), 1u);
  // Segment 1: task 1 again (its later record), still pending.
  ledger.recorded(ledger_task(1), true);
  ledger.closed("b", t0);
  // Segment 0 no longer holds a pending task; segment 1 does.
  CHECK_EQ(ledger.compact(t0), std::vector<std::string>{"a"});
  CHECK_EQ(ledger.records(), 1u);
  ledger.finished(ledger_task(1));
  ledger.finished(ledger_task(99)); // unknown: ignored
  CHECK_EQ(ledger.pending(), 0u);
  // One record is within the limit of one.
  CHECK(ledger.compact(t0).empty());
}

TEST_CASE("lineage ledger: without limits it keeps no books") {
  lineage_ledger ledger;
  for (uint64_t n = 0; n < 100; ++n)
    ledger.recorded(ledger_task(n), true);
  ledger.closed("x", clock_type::now());
  CHECK_EQ(ledger.pending(), 0u);
  CHECK_EQ(ledger.segments(), 0u);
  CHECK(ledger.compact(clock_type::now() + 1000h).empty());
}

TEST_CASE("lineage ledger: keys are the ones lineage_writer gives its rows") {
  lineage_writer writer{3};
  lineage_ledger ledger{lineage_limits{150, 0s}};
  auto t0 = clock_type::now();
  std::vector<std::string> keys;
  for (uint64_t s = 0; s < 4; ++s) {
    for (uint64_t n = s * 100; n < s * 100 + 100; ++n) {
      task_spec spec;
      spec.id = ledger_task(n);
      spec.function = "f";
      writer.add(spec, 0, node_id{}, 0);
      ledger.recorded(spec.id, true);
    }
    auto rows = writer.take();
    REQUIRE_EQ(rows.size(), 1u);
    REQUIRE_EQ(decode_segment(rows[0].value)->size(), 100u);
    keys.push_back(rows[0].key);
    ledger.closed(rows[0].key, t0);
  }
  for (uint64_t n = 0; n < 400; ++n)
    ledger.finished(ledger_task(n));
  CHECK_EQ(ledger.compact(t0),
           (std::vector<std::string>{keys[0], keys[1], keys[2]}));
  CHECK_EQ(ledger.records(), 100u);
}
