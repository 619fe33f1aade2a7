// The books of actor calls in flight (detail::actor_call_table): the route
// of each call, calls answered by a result published in the arena, and the
// calls a dying host fails.
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <doctest/doctest.h>

#include "api/detail/actor_calls.hpp"
#include "object_store/local_objects.hpp"

using namespace cafray;
using route = detail::actor_call_table::route;

namespace {

object_id call_result(uint64_t n) {
  return object_id{7, n};
}

struct table_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor host = sys.spawn([] { return caf::behavior{[](int) {}}; });
  std::shared_ptr<local_objects> arena = std::make_shared<local_objects>();
  detail::actor_call_table table{arena};
  actor_id actor{1, 2};
  std::vector<route> sent;

  table_fixture() {
    arena->publish_final_up_to(64);
  }

  route call(uint64_t n) {
    std::string why;
    return table.track(actor, call_result(n), why,
                       [&](route r) { sent.push_back(r); });
  }

  void answer(uint64_t n) {
    object_payload x;
    x.data = blob{std::vector<char>{1, 2, 3}};
    REQUIRE(arena->publish(call_result(n), std::move(x)));
  }

  std::vector<object_id> die() {
    return table.fail(host.address(), "killed").second;
  }
};

} // namespace

TEST_CASE_FIXTURE(table_fixture, "calls go through the core worker until it "
                                 "watches the host, then straight to it") {
  CHECK(call(1) == route::via_core);
  CHECK(table.watch(actor, host.address()));
  CHECK_FALSE(table.watch(actor, host.address()));
  CHECK(call(2) == route::via_core);  // one is still with the core worker
  table.forwarded(actor);
  table.forwarded(actor);
  CHECK(call(3) == route::direct);
  CHECK(sent == std::vector<route>{route::via_core, route::via_core,
                                   route::direct});
}

TEST_CASE_FIXTURE(table_fixture, "a dying host fails exactly the calls not "
                                 "answered, by message or in the arena") {
  table.watch(actor, host.address());
  for (uint64_t n = 1; n <= 5; ++n)
    call(n);
  table.done(actor, call_result(1));  // a result that came as a message
  answer(2);                          // one published final
  CHECK(die()
        == std::vector<object_id>{call_result(3), call_result(4),
                                  call_result(5)});
  std::string why;
  bool sent_after = false;
  CHECK(table.track(actor, call_result(6), why,
                    [&](route) { sent_after = true; })
        == route::dead);
  CHECK(why == "killed");
  CHECK_FALSE(sent_after);
}

TEST_CASE_FIXTURE(table_fixture, "a result in the arena answers every older "
                                 "call, even one whose result is gone") {
  table.watch(actor, host.address());
  for (uint64_t n = 1; n <= 4; ++n)
    call(n);
  // The caller let go of call 1's result before it came: never sealed.
  arena->release(call_result(1));
  CHECK_FALSE(arena->publish(call_result(1), object_payload{}));
  answer(3);
  CHECK(die() == std::vector<object_id>{call_result(4)});
}

TEST_CASE_FIXTURE(table_fixture, "answered calls leave the books as new ones "
                                 "come") {
  table.watch(actor, host.address());
  for (uint64_t n = 1; n <= 1000; ++n) {
    call(n);
    if (n % 10 != 0)
      answer(n);
  }
  // The books are looked at once per 32 calls: the last look cleared
  // them (the youngest call was answered), 994 to 1000 came since.
  CHECK(table.in_flight(actor) == 7);
  for (uint64_t n = 1001; n <= 1025; ++n)
    call(n);
  CHECK(table.in_flight(actor) == 32);
  // Call 1026 finds the youngest (1025) unanswered: the answered ones at
  // the front go (994 to 999), the oldest unanswered (1000) stays.
  call(1026);
  CHECK(table.in_flight(actor) == 27);  // 1000 to 1026
  answer(1010);
  CHECK(die().front() == call_result(1011));
}
