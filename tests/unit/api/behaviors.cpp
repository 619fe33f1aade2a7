// Typed-actor behaviors hosted by the runtime, and caf-ray inside an existing
// CAF application.
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "fixture.hpp"

using namespace api_test;

using add_atom = caf::atom_constant<caf::atom("add")>;
using mul_atom = caf::atom_constant<caf::atom("mul")>;

using calc = caf::typed_actor<caf::replies_to<add_atom, int, int>::with<int>,
                              caf::replies_to<mul_atom, int, int>::with<int>>;

/// Adds an offset to every sum: the spawn argument.
calc::behavior_type calculator(calc::pointer, int offset) {
  return {
    [=](add_atom, int x, int y) { return x + y + offset; },
    [=](mul_atom, int x, int y) { return x * y; },
  };
}
CAFRAY_BEHAVIOR(calculator);

using sequencer = caf::typed_actor<caf::replies_to<int>::with<int>>;

/// Replies with its input while inputs arrive as 1, 2, 3, ...; after the
/// first out-of-order input it replies with negated inputs.
sequencer::behavior_type sequence_checker(sequencer::pointer) {
  auto next = std::make_shared<int>(1);
  auto ordered = std::make_shared<bool>(true);
  return {
    [=](int x) {
      if (x != *next)
        *ordered = false;
      *next = x + 1;
      return *ordered ? x : -x;
    },
  };
}
CAFRAY_BEHAVIOR(sequence_checker);

int beh_add(int x, int y) {
  return x + y;
}
CAFRAY_REMOTE(beh_add);

TEST_SUITE("api.behaviors") {

TEST_CASE_FIXTURE(runtime_fixture, "a typed behavior spawned with an "
                                   "argument") {
  auto h = cafray::spawn(calculator, 100);
  SUBCASE("CAF request through handle()") {
    calc hdl = h.handle();
    REQUIRE(hdl);
    caf::scoped_actor self{cafray::detail::system()};
    int sum = 0;
    bool failed = false;
    self->request(hdl, caf::timespan{patience}, add_atom::value, 1, 2)
      .receive([&](int x) { sum = x; }, [&](caf::error&) { failed = true; });
    CHECK_FALSE(failed);
    CHECK(sum == 103);
    int product = 0;
    self->request(hdl, caf::timespan{patience}, mul_atom::value, 6, 7)
      .receive([&](int x) { product = x; },
               [&](caf::error&) { failed = true; });
    CHECK_FALSE(failed);
    CHECK(product == 42);
  }
  SUBCASE("call<R> returns an object_ref") {
    auto r = h.call<int>(add_atom::value, 20, 22);
    CHECK(cafray::get(r, patience) == 142);
    CHECK(cafray::get(h.call<int>(mul_atom::value, 3, 5), patience) == 15);
    // The result is a ref like any other: a task argument.
    CHECK(cafray::get(cafray::task(beh_add).remote(r, 1), patience) == 143);
  }
  SUBCASE("another instance with another argument") {
    auto h2 = cafray::spawn(calculator, -1);
    CHECK(h2.id() != h.id());
    CHECK(cafray::get(h2.call<int>(add_atom::value, 1, 1), patience) == 1);
    CHECK(cafray::get(h.call<int>(add_atom::value, 1, 1), patience) == 102);
  }
}

TEST_CASE_FIXTURE(runtime_fixture, "call<R> from one caller runs in "
                                   "submission order") {
  auto h = cafray::spawn(sequence_checker);
  std::vector<cafray::object_ref<int>> refs;
  std::vector<int> expected;
  for (int i = 1; i <= 200; ++i) {
    refs.push_back(h.call<int>(i));
    expected.push_back(i);
  }
  CHECK(cafray::get(refs, patience) == expected);
}

TEST_CASE_FIXTURE(runtime_fixture, "named typed actors") {
  auto h = cafray::spawn_named("calc-1", calculator, 10);
  auto found = cafray::get_typed_actor<calc>("calc-1");
  REQUIRE(found.has_value());
  CHECK(found->id() == h.id());
  CHECK(cafray::get(found->call<int>(add_atom::value, 1, 2), patience) == 13);
  CHECK(found->handle() == h.handle());
  CHECK_FALSE(cafray::get_typed_actor<calc>("calc-unknown").has_value());
  CHECK(code_of_call([] { cafray::spawn_named("calc-1", calculator, 0); })
        == cafray::errc::actor_name_taken);
}

TEST_CASE_FIXTURE(runtime_fixture, "spawn with wrong argument types") {
  CHECK(code_of_call([] { cafray::spawn(calculator, std::string{"x"}); })
        == cafray::errc::signature_mismatch);
  CHECK(code_of_call([] { cafray::spawn(calculator, 1, 2); })
        == cafray::errc::signature_mismatch);
  // The runtime is unharmed.
  auto h = cafray::spawn(calculator, 0);
  CHECK(cafray::get(h.call<int>(add_atom::value, 2, 2), patience) == 4);
}

TEST_CASE_FIXTURE(runtime_fixture, "kill a typed actor: calls give "
                                   "actor_died") {
  auto h = cafray::spawn(calculator, 0);
  CHECK(cafray::get(h.call<int>(add_atom::value, 1, 2), patience) == 3);
  cafray::kill(h);
  auto r = h.call<int>(add_atom::value, 1, 2);
  CHECK_THROWS_AS(cafray::get(r, patience), cafray::actor_died_error);
  CHECK(code_of_call([&] { cafray::get(r, patience); })
        == cafray::errc::actor_died);
  CHECK(code_of_call([&] {
          cafray::get(h.call<int>(mul_atom::value, 1, 2), patience);
        })
        == cafray::errc::actor_died);
}

TEST_CASE("inside an existing CAF application") {
  caf::actor_system_config cfg;
  cafray::register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  cafray::init(sys, test_config());
  CHECK(&cafray::detail::system() == &sys);
  CHECK(cafray::get(cafray::task(beh_add).remote(cafray::put(40), 2), patience)
        == 42);
  // A runtime-spawned typed actor lives in the user's system.
  auto h = cafray::spawn(calculator, 1);
  {
    caf::scoped_actor self{sys};
    int sum = 0;
    self->request(h.handle(), caf::timespan{patience}, add_atom::value, 2, 3)
      .receive([&](int x) { sum = x; }, [&](caf::error&) {});
    CHECK(sum == 6);
  }
  CHECK(cafray::get(h.call<int>(add_atom::value, 4, 4), patience) == 9);
  cafray::shutdown();
  CHECK_FALSE(cafray::initialized());
  // The user's system still works after caf-ray shut down.
  auto doubler = sys.spawn([]() -> caf::behavior {
    return {[](int x) { return x * 2; }};
  });
  {
    caf::scoped_actor self{sys};
    int result = 0;
    self->request(doubler, caf::timespan{patience}, 21)
      .receive([&](int x) { result = x; }, [&](caf::error&) {});
    CHECK(result == 42);
  }
  caf::anon_send_exit(doubler, caf::exit_reason::user_shutdown);
  // And caf-ray can attach to it again.
  cafray::init(sys, test_config());
  CHECK(cafray::get(cafray::task(beh_add).remote(1, 1), patience) == 2);
  cafray::shutdown();
}

} // TEST_SUITE
