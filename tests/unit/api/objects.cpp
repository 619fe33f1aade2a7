// put/get/wait, typed errors, error_info, and the init/shutdown life cycle.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "api/detail/runtime_state.hpp"
#include "fixture.hpp"

using namespace api_test;

namespace {

using clock_type = std::chrono::steady_clock;

int obj_square(int x) {
  return x * x;
}

int obj_add(int x, int y) {
  return x + y;
}

int obj_fail(int x) {
  throw std::runtime_error("bad input " + std::to_string(x));
}

void obj_void_fail(int x) {
  throw std::out_of_range("void task " + std::to_string(x));
}

int obj_not_registered(int x) {
  return x;
}

/// Waits (bounded) until error_info() holds at least n records.
std::vector<cafray::error_record> errors_eventually(size_t n) {
  auto deadline = clock_type::now() + patience;
  auto xs = cafray::error_info();
  while (xs.size() < n && clock_type::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    xs = cafray::error_info();
  }
  return xs;
}

} // namespace

CAFRAY_REMOTE(obj_square);
CAFRAY_REMOTE(obj_add);
CAFRAY_REMOTE(obj_fail);
CAFRAY_REMOTE(obj_void_fail);

namespace api_errors {

class quota_exceeded : public std::exception {
public:
  const char* what() const noexcept override {
    return "quota of 3 exceeded";
  }
};

int obj_fail_custom(int) {
  throw quota_exceeded{};
}

int obj_fail_nonstandard(int) {
  throw 42;
}

} // namespace api_errors

using api_errors::obj_fail_custom;
using api_errors::obj_fail_nonstandard;
CAFRAY_REMOTE(obj_fail_custom);
CAFRAY_REMOTE(obj_fail_nonstandard);

TEST_SUITE("api.objects") {

TEST_CASE_FIXTURE(runtime_fixture, "put and get") {
  CHECK(cafray::get(cafray::put(7), patience) == 7);
  CHECK(cafray::get(cafray::put(std::string{"seven"}), patience) == "seven");
  CHECK(cafray::get(cafray::put(std::vector<int>{1, 2, 3}), patience)
        == std::vector<int>{1, 2, 3});
  CHECK(cafray::get(cafray::put(int64_t{-5})) == -5); // no timeout overload
  auto a = cafray::put(1);
  auto b = cafray::put(1);
  CHECK(a != b); // each put is a new object
  CHECK(cafray::get(a, patience) == cafray::get(b, patience));
  // Reading the same object many times.
  for (int i = 0; i < 3; ++i)
    CHECK(cafray::get(a, patience) == 1);
}

TEST_CASE_FIXTURE(runtime_fixture, "get of a vector keeps the input order") {
  std::vector<cafray::object_ref<int>> refs{
    cafray::task(obj_square).remote(3), cafray::put(100),
    cafray::task(obj_add).remote(cafray::task(obj_square).remote(4), 1),
    cafray::put(-1), cafray::task(obj_square).remote(0)};
  CHECK(cafray::get(refs, patience) == std::vector<int>{9, 100, 17, -1, 0});
  CHECK(cafray::get(std::vector<cafray::object_ref<int>>{}, patience).empty());
  // The same ref twice.
  auto x = cafray::put(5);
  CHECK(cafray::get(std::vector<cafray::object_ref<int>>{x, x}, patience)
        == std::vector<int>{5, 5});
}

TEST_CASE_FIXTURE(runtime_fixture, "get with a timeout on a never-ready "
                                   "object") {
  auto never = cafray::task(obj_square).resources({{unobtainium, 1}}).remote(2);
  auto start = clock_type::now();
  CHECK_THROWS_AS(cafray::get(never, 50ms), cafray::timeout_error);
  CHECK(code_of_call([&] { cafray::get(never, 50ms); }) == cafray::errc::timeout);
  CHECK(clock_type::now() - start < 10s);
  // One never-ready object makes get(vector) time out as well.
  auto ready = cafray::put(1);
  CHECK(code_of_call([&] {
          cafray::get(std::vector<cafray::object_ref<int>>{ready, never}, 50ms);
        })
        == cafray::errc::timeout);
  // The pending task did not fail: still unready, and the runtime works.
  auto w = cafray::wait(std::vector<cafray::object_ref<int>>{never}, 1, 20ms);
  CHECK(w.ready.empty());
  CHECK(w.unready == std::vector<cafray::object_ref<int>>{never});
  CHECK(cafray::get(cafray::task(obj_square).remote(4), patience) == 16);
}

TEST_CASE_FIXTURE(runtime_fixture, "wait returns ready and unready lists in "
                                   "input order") {
  auto pending = [] {
    return cafray::task(obj_square).resources({{unobtainium, 1}}).remote(1);
  };
  auto n0 = pending();
  auto r1 = cafray::put(1);
  auto n2 = pending();
  auto r3 = cafray::task(obj_square).remote(3);
  auto r4 = cafray::task(obj_add).remote(r3, r1);
  auto n5 = pending();
  CHECK(cafray::get(r4, patience) == 10); // r1, r3 and r4 exist now
  std::vector<cafray::object_ref<int>> refs{n0, r1, n2, r3, r4, n5};
  using refs_t = std::vector<cafray::object_ref<int>>;
  SUBCASE("all requested: the timeout ends it") {
    auto start = clock_type::now();
    auto w = cafray::wait(refs, refs.size(), 100ms);
    CHECK(clock_type::now() - start < 10s);
    CHECK(w.ready == refs_t{r1, r3, r4});
    CHECK(w.unready == refs_t{n0, n2, n5});
  }
  SUBCASE("exactly as many as are ready, no timeout") {
    auto w = cafray::wait(refs, 3, patience);
    CHECK(w.ready == refs_t{r1, r3, r4});
    CHECK(w.unready == refs_t{n0, n2, n5});
  }
  SUBCASE("fewer requested than are ready: the first k in input order") {
    auto w = cafray::wait(refs, 2, patience);
    CHECK(w.ready == refs_t{r1, r3});
    CHECK(w.unready == refs_t{n0, n2, r4, n5});
  }
  SUBCASE("only never-ready objects") {
    auto w = cafray::wait(refs_t{n5, n0}, 1, 50ms);
    CHECK(w.ready.empty());
    CHECK(w.unready == refs_t{n5, n0});
  }
  SUBCASE("an object that becomes ready while waiting") {
    auto later = cafray::task(obj_add).remote(cafray::task(obj_square).remote(5),
                                              1);
    auto w = cafray::wait(refs_t{n0, later}, 1, patience);
    CHECK(w.ready == refs_t{later});
    CHECK(w.unready == refs_t{n0});
    CHECK(cafray::get(later, patience) == 26);
  }
  SUBCASE("empty input") {
    auto w = cafray::wait(refs_t{}, 0, 50ms);
    CHECK(w.ready.empty());
    CHECK(w.unready.empty());
  }
}

TEST_CASE_FIXTURE(runtime_fixture, "an exception in a task becomes a "
                                   "task_error at get") {
  auto failed = cafray::task(obj_fail).remote(3);
  try {
    cafray::get(failed, patience);
    FAIL("get did not throw");
  } catch (const cafray::task_error& e) {
    CHECK(e.code() == cafray::errc::task_failed);
    CHECK(e.function() == "obj_fail");
    CHECK(e.exception_type() == "std::runtime_error");
    CHECK(e.message() == "bad input 3");
  }
  SUBCASE("a user exception class") {
    try {
      cafray::get(cafray::task(obj_fail_custom).remote(1), patience);
      FAIL("get did not throw");
    } catch (const cafray::task_error& e) {
      CHECK(e.code() == cafray::errc::task_failed);
      CHECK(e.function() == "obj_fail_custom");
      CHECK(e.exception_type() == "api_errors::quota_exceeded");
      CHECK(e.message() == "quota of 3 exceeded");
    }
  }
  SUBCASE("a non-standard exception") {
    try {
      cafray::get(cafray::task(obj_fail_nonstandard).remote(1), patience);
      FAIL("get did not throw");
    } catch (const cafray::task_error& e) {
      CHECK(e.code() == cafray::errc::task_failed);
      CHECK(e.function() == "obj_fail_nonstandard");
      CHECK(e.exception_type() == "int");
    }
  }
  SUBCASE("dependents fail with the original error") {
    auto dependent = cafray::task(obj_add).remote(failed, 1);
    auto deeper = cafray::task(obj_square).remote(dependent);
    for (auto& ref : {dependent, deeper}) {
      try {
        cafray::get(ref, patience);
        FAIL("get did not throw");
      } catch (const cafray::task_error& e) {
        CHECK(e.code() == cafray::errc::task_failed);
        CHECK(e.function() == "obj_fail");
        CHECK(e.exception_type() == "std::runtime_error");
        CHECK(e.message() == "bad input 3");
      }
    }
    // get(vector) throws the error too, even next to good values.
    try {
      cafray::get(std::vector<cafray::object_ref<int>>{cafray::put(1), deeper},
                  patience);
      FAIL("get did not throw");
    } catch (const cafray::task_error& e) {
      CHECK(e.function() == "obj_fail");
      CHECK(e.message() == "bad input 3");
    }
    // A failed object counts as ready for wait.
    auto w = cafray::wait(std::vector<cafray::object_ref<int>>{deeper}, 1,
                          patience);
    CHECK(w.ready.size() == 1);
  }
  // The runtime is unharmed.
  CHECK(cafray::get(cafray::task(obj_square).remote(6), patience) == 36);
}

TEST_CASE_FIXTURE(runtime_fixture, "a failing void task throws at get") {
  try {
    cafray::get(cafray::task(obj_void_fail).remote(2), patience);
    FAIL("get did not throw");
  } catch (const cafray::task_error& e) {
    CHECK(e.function() == "obj_void_fail");
    CHECK(e.exception_type() == "std::out_of_range");
    CHECK(e.message() == "void task 2");
  }
  // Among many void refs, a failed one makes get throw its error.
  std::vector<cafray::object_ref<void>> refs{
    cafray::task(obj_void_fail).remote(3)};
  try {
    cafray::get(refs, patience);
    FAIL("get did not throw");
  } catch (const cafray::task_error& e) {
    CHECK(e.message() == "void task 3");
  }
}

TEST_CASE_FIXTURE(runtime_fixture, "error_info lists the recorded errors") {
  auto before = clock_type::now();
  CHECK(cafray::error_info().empty()); // a fresh runtime
  auto wall_before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto failed = cafray::task(obj_fail).remote(11);
  CHECK_THROWS_AS(cafray::get(failed, patience), cafray::task_error);
  auto xs = errors_eventually(1);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].code == static_cast<uint8_t>(cafray::errc::task_failed));
  CHECK(xs[0].function == "obj_fail");
  CHECK(xs[0].type_name == "std::runtime_error");
  CHECK(xs[0].message == "bad input 11");
  CHECK(xs[0].time_ns >= wall_before);
  CHECK(xs[0].task == failed.id().task);
  // A second failure: both listed, oldest first.
  CHECK_THROWS_AS(cafray::get(cafray::task(obj_fail_custom).remote(1), patience),
                  cafray::task_error);
  xs = errors_eventually(2);
  REQUIRE(xs.size() >= 2);
  CHECK(xs[0].message == "bad input 11");
  auto custom = std::find_if(xs.begin(), xs.end(), [](auto& x) {
    return x.function == "obj_fail_custom";
  });
  REQUIRE(custom != xs.end());
  CHECK(custom->message == "quota of 3 exceeded");
  CHECK(custom->type_name == "api_errors::quota_exceeded");
  CHECK(custom->time_ns >= xs[0].time_ns);
  CHECK(clock_type::now() - before < patience);
}

TEST_CASE_FIXTURE(runtime_fixture, "unregistered functions and wrong argument "
                                   "types give typed errors at get") {
  SUBCASE("unknown name") {
    auto r = cafray::task<int>("nope").remote(1);
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::unknown_function);
  }
  SUBCASE("function pointer never registered") {
    auto r = cafray::task(obj_not_registered).remote(1);
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::unknown_function);
  }
  SUBCASE("wrong argument type by name") {
    auto r = cafray::task<int>("obj_square").remote(std::string("x"));
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::signature_mismatch);
  }
  SUBCASE("wrong number of arguments by name") {
    auto r = cafray::task<int>("obj_square").remote(1, 2);
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::signature_mismatch);
  }
  SUBCASE("wrong ref type by name") {
    auto r = cafray::task<int>("obj_square").remote(
      cafray::put(std::string{"x"}));
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::signature_mismatch);
  }
  SUBCASE("dependents of an unknown function fail with its error") {
    auto r = cafray::task(obj_square).remote(cafray::task<int>("nope").remote(1));
    CHECK(code_of_call([&] { cafray::get(r, patience); })
          == cafray::errc::unknown_function);
  }
  // The runtime is unharmed.
  CHECK(cafray::get(cafray::task<int>("obj_square").remote(5), patience) == 25);
}

TEST_CASE_FIXTURE(runtime_fixture, "put and get of a large value") {
  std::vector<int64_t> big(1 << 20);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<int64_t>(i * i);
  auto ref = cafray::put(big);
  CHECK(cafray::get(ref, patience) == big);
  CHECK(cafray::get(ref, patience) == big); // read twice
}

TEST_CASE("shutdown fails a blocked get instead of hanging") {
  cafray::init(test_config());
  auto never = cafray::task(obj_square).resources({{unobtainium, 1}}).remote(2);
  auto code = cafray::errc::none;
  auto start = clock_type::now();
  std::thread waiter{[&] {
    code = code_of_call([&] { cafray::get(never, patience); });
  }};
  std::this_thread::sleep_for(100ms);
  cafray::shutdown();
  waiter.join();
  // shutting_down if the get was already blocked (the usual case),
  // not_initialized if the thread only got there after shutdown.
  CHECK((code == cafray::errc::shutting_down
         || code == cafray::errc::not_initialized));
  CHECK(clock_type::now() - start < patience);
}

TEST_CASE("shutdown returns when CAF would wait forever for an actor") {
  // A finished detached actor that something still references: CAF 0.17.6's
  // actor_system destructor waits for its thread, which waits for the
  // actor's destruction, forever. shutdown() leaves such a system behind.
  cafray::init(test_config());
  auto& sys = *cafray::detail::rt().sys;
  auto stuck = sys.spawn<caf::detached>(
    [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
  static auto* leaked = new caf::actor{stuck}; // never released
  caf::anon_send_exit(*leaked, caf::exit_reason::user_shutdown);
  {
    caf::scoped_actor self{sys};
    self->wait_for(stuck);
  }
  stuck = nullptr;
  auto start = clock_type::now();
  cafray::shutdown();
  auto took = clock_type::now() - start;
  CHECK_FALSE(cafray::initialized());
  CHECK(took >= 2s);
  CHECK(took < 5s);
  // A fresh runtime works afterwards.
  cafray::init(test_config());
  CHECK(cafray::get(cafray::task(obj_square).remote(7), patience) == 49);
  cafray::shutdown();
}

TEST_CASE("init twice is a no-op; init after shutdown works") {
  CHECK_FALSE(cafray::initialized());
  cafray::init(test_config());
  CHECK(cafray::initialized());
  auto kept = cafray::put(3);
  cafray::init(test_config()); // no-op: the same runtime, objects survive
  CHECK(cafray::initialized());
  CHECK(cafray::get(kept, patience) == 3);
  CHECK(cafray::get(cafray::task(obj_square).remote(kept), patience) == 9);
  cafray::shutdown();
  CHECK_FALSE(cafray::initialized());
  cafray::shutdown(); // does nothing
  CHECK(code_of_call([] { cafray::put(1); }) == cafray::errc::not_initialized);
  for (int round = 0; round < 3; ++round) {
    cafray::init(test_config());
    CHECK(cafray::initialized());
    CHECK(cafray::get(cafray::task(obj_square).remote(round + 2), patience)
          == (round + 2) * (round + 2));
    CHECK(cafray::error_info().empty()); // a fresh GCS each time
    cafray::shutdown();
  }
  // The default config works too.
  cafray::init();
  CHECK(cafray::get(cafray::task(obj_add).remote(1, 2), patience) == 3);
  cafray::shutdown();
}

} // TEST_SUITE

namespace {

/// Waits (bounded) until the store holds `n` objects; returns the count.
uint64_t store_objects_eventually(uint64_t n) {
  auto deadline = clock_type::now() + patience;
  auto count = cafray::object_store_stats().objects;
  while (count != n && clock_type::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    count = cafray::object_store_stats().objects;
  }
  return count;
}

int obj_slow_identity(int x) {
  std::this_thread::sleep_for(50ms);
  return x;
}

int obj_sum_refs(std::vector<cafray::object_ref<int>> refs) {
  int sum = 0;
  for (auto& ref : refs)
    sum += cafray::get(ref);
  return sum;
}

} // namespace

CAFRAY_REMOTE(obj_slow_identity);
CAFRAY_REMOTE(obj_sum_refs);

TEST_CASE_FIXTURE(runtime_fixture, "objects go with the last copy of their ref") {
  auto base = store_objects_eventually(0);
  REQUIRE(base == 0);
  {
    auto a = cafray::put(std::string(1000, 'a'));
    auto copy = a;
    std::vector<cafray::object_ref<int>> results;
    for (int i = 0; i < 100; ++i)
      results.push_back(cafray::task(obj_square).remote(i));
    CHECK(cafray::get(results).back() == 99 * 99);
    CHECK(store_objects_eventually(101) == 101);
    { auto drop = std::move(a); }
    CHECK(cafray::get(copy) == std::string(1000, 'a'));
    CHECK(store_objects_eventually(101) == 101);
  }
  CHECK(store_objects_eventually(0) == 0);
  CHECK(cafray::object_store_stats().bytes == 0);
}

TEST_CASE_FIXTURE(runtime_fixture, "a dropped argument lives until its task is done") {
  REQUIRE(store_objects_eventually(0) == 0);
  // The inner ref is a temporary, gone before the outer task even starts;
  // a large argument value goes to the store and is dropped the same way.
  auto outer = cafray::task(obj_add).remote(
    cafray::task(obj_slow_identity).remote(40), 2);
  CHECK(cafray::get(outer, patience) == 42);
  auto big = cafray::task(obj_sum_refs).remote(
    std::vector<cafray::object_ref<int>>{});
  CHECK(cafray::get(big, patience) == 0);
  outer = {};
  big = {};
  CHECK(store_objects_eventually(0) == 0);
}

TEST_CASE_FIXTURE(runtime_fixture, "refs inside values keep their objects") {
  REQUIRE(store_objects_eventually(0) == 0);
  std::vector<cafray::object_ref<int>> inner;
  for (int i = 1; i <= 3; ++i)
    inner.push_back(cafray::put(i));
  // Passed as refs, the three escape: the task reads them by itself.
  auto sum = cafray::task(obj_sum_refs).remote(inner);
  CHECK(cafray::get(sum, patience) == 6);
  inner.clear();
  sum = {};
  CHECK(store_objects_eventually(3) == 3);
}
