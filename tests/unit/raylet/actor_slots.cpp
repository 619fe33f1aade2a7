// actor_slots: the actors a raylet runs in processes of their own, without
// actors.

#include <doctest/doctest.h>

#include "raylet/actor_slots.hpp"

using namespace cafray;

namespace {

task_spec creation(uint64_t n, resource_map demand) {
  task_spec spec;
  spec.id = task_id{5, n};
  spec.kind = static_cast<uint8_t>(task_kind::actor_create);
  spec.actor = actor_id{6, n};
  spec.resources = std::move(demand);
  return spec;
}

using phase = actor_slots::phase;

} // namespace

TEST_CASE("an actor holds its resources from its start to its removal") {
  local_scheduler sched{{{"CPU", 2000}, {"special", 1000}}};
  actor_slots slots;
  REQUIRE(slots.add(creation(1, {{"special", 1000}})));
  CHECK_FALSE(slots.add(creation(1, {{"special", 1000}})));
  auto ready = slots.startable(sched);
  REQUIRE_EQ(ready.size(), 1u);
  CHECK(ready[0] == (actor_id{6, 1}));
  CHECK(slots.find(ready[0])->state == phase::starting);
  CHECK_EQ(sched.available().at("special"), 0);
  CHECK_EQ(sched.available().at("CPU"), 2000);
  slots.started(ready[0], 4711);
  CHECK_EQ(slots.find(ready[0])->pid, 4711);
  CHECK(slots.alive(ready[0]));
  CHECK_FALSE(slots.alive(ready[0]));
  CHECK(slots.find(ready[0])->state == phase::alive);
  // Tasks see the special resource taken.
  CHECK_FALSE(sched.reserve({{"special", 1000}}));
  auto gone = slots.remove(ready[0], sched);
  REQUIRE(gone);
  CHECK_EQ(gone->pid, 4711);
  CHECK_EQ(sched.available().at("special"), 1000);
  CHECK_EQ(slots.size(), 0u);
  CHECK_FALSE(slots.remove(ready[0], sched));
}

TEST_CASE("a creation waits until an actor holding its resources dies") {
  local_scheduler sched{{{"CPU", 2000}, {"special", 1000}}};
  actor_slots slots;
  slots.add(creation(1, {{"special", 1000}}));
  slots.add(creation(2, {{"special", 1000}}));
  slots.add(creation(3, {}));
  // The second waits; the third needs nothing and does not wait behind it.
  auto ready = slots.startable(sched);
  REQUIRE_EQ(ready.size(), 2u);
  CHECK(ready[0] == (actor_id{6, 1}));
  CHECK(ready[1] == (actor_id{6, 3}));
  CHECK_EQ(slots.waiting(), 1u);
  CHECK(slots.find(actor_id{6, 2})->state == phase::waiting);
  CHECK(slots.startable(sched).empty());
  slots.remove(actor_id{6, 1}, sched);
  ready = slots.startable(sched);
  REQUIRE_EQ(ready.size(), 1u);
  CHECK(ready[0] == (actor_id{6, 2}));
  CHECK_EQ(slots.waiting(), 0u);
  CHECK_EQ(sched.available().at("special"), 0);
}

TEST_CASE("a waiting creation that is removed gives back nothing") {
  local_scheduler sched{{{"CPU", 1000}, {"special", 1000}}};
  actor_slots slots;
  slots.add(creation(1, {{"special", 1000}}));
  slots.add(creation(2, {{"special", 1000}}));
  slots.startable(sched);
  REQUIRE(slots.remove(actor_id{6, 2}, sched));
  CHECK_EQ(slots.waiting(), 0u);
  CHECK_EQ(sched.available().at("special"), 0);
  slots.remove(actor_id{6, 1}, sched);
  CHECK_EQ(sched.available().at("special"), 1000);
}
