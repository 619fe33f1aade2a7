// Class-based actors: state, call order, refs in and out, named actors,
// kill, and exceptions in methods.
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixture.hpp"

using namespace api_test;

class Counter {
public:
  explicit Counter(int start) : n_(start) {
  }

  int increment() {
    return ++n_;
  }

  void add(int k) {
    n_ += k;
  }

  int read() const {
    return n_;
  }

  int fail(int k) {
    throw std::invalid_argument("cannot fail with " + std::to_string(k));
  }

  int secret() const { // deliberately not registered
    return -1;
  }

private:
  int n_;
};
CAFRAY_ACTOR(Counter, int);
CAFRAY_METHOD(Counter, increment);
CAFRAY_METHOD(Counter, add);
CAFRAY_METHOD(Counter, read);
CAFRAY_METHOD(Counter, fail);

class Journal {
public:
  Journal(std::string title, std::vector<int> initial)
    : title_(std::move(title)), items_(std::move(initial)) {
  }

  void append(int x) {
    items_.push_back(x);
  }

  std::vector<int> items() const {
    return items_;
  }

  std::string title() const {
    return title_;
  }

private:
  std::string title_;
  std::vector<int> items_;
};
CAFRAY_ACTOR(Journal, std::string, std::vector<int>);
CAFRAY_METHOD(Journal, append);
CAFRAY_METHOD(Journal, items);
CAFRAY_METHOD(Journal, title);

class Fragile {
public:
  explicit Fragile(int x) : x_(x) {
    if (x < 0)
      throw std::domain_error("negative start " + std::to_string(x));
  }

  int value() const {
    return x_;
  }

private:
  int x_;
};
CAFRAY_ACTOR(Fragile, int);
CAFRAY_METHOD(Fragile, value);

int act_add(int x, int y) {
  return x + y;
}
CAFRAY_REMOTE(act_add);

/// Uses an actor handle passed to a task.
int bump_counter(cafray::actor_handle<Counter> counter, int times) {
  int last = 0;
  for (int i = 0; i < times; ++i)
    last = cafray::get(counter.call(&Counter::increment), patience);
  return last;
}
CAFRAY_REMOTE(bump_counter);

TEST_SUITE("api.actors") {

TEST_CASE_FIXTURE(runtime_fixture, "a Counter keeps its state across calls") {
  auto c = cafray::actor<Counter>(10).remote();
  auto a = c.call(&Counter::increment);
  auto b = c.call(&Counter::increment);
  auto d = c.call(&Counter::increment);
  CHECK(cafray::get(a, patience) == 11);
  CHECK(cafray::get(b, patience) == 12);
  CHECK(cafray::get(d, patience) == 13);
  cafray::object_ref<void> added = c.call(&Counter::add, 7);
  cafray::get(added, patience);
  CHECK(cafray::get(c.call(&Counter::read), patience) == 20);
  // Four independent counters, as in the seed tour.
  std::vector<cafray::actor_handle<Counter>> counters;
  for (int i = 0; i < 4; ++i)
    counters.push_back(cafray::actor<Counter>(0).remote());
  for (int round = 1; round <= 3; ++round) {
    for (auto& x : counters)
      x.call(&Counter::increment);
    std::vector<cafray::object_ref<int>> reads;
    for (auto& x : counters)
      reads.push_back(x.call(&Counter::read));
    CHECK(cafray::get(reads, patience)
          == std::vector<int>{round, round, round, round});
  }
}

TEST_CASE_FIXTURE(runtime_fixture, "calls from one caller run in submission "
                                   "order") {
  auto j = cafray::actor<Journal>(std::string{"log"}, std::vector<int>{})
             .remote();
  for (int i = 1; i <= 1000; ++i)
    j.call(&Journal::append, i);
  std::vector<int> expected(1000);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(cafray::get(j.call(&Journal::items), patience) == expected);
  CHECK(cafray::get(j.call(&Journal::title), patience) == "log");
  // Copies of a handle share one call sequence.
  auto copy = j;
  j.call(&Journal::append, 1001);
  copy.call(&Journal::append, 1002);
  j.call(&Journal::append, 1003);
  expected.insert(expected.end(), {1001, 1002, 1003});
  CHECK(cafray::get(copy.call(&Journal::items), patience) == expected);
}

TEST_CASE_FIXTURE(runtime_fixture, "constructor arguments") {
  auto j = cafray::actor<Journal>(std::string{"t"}, std::vector<int>{4, 5})
             .remote();
  j.call(&Journal::append, 6);
  CHECK(cafray::get(j.call(&Journal::items), patience)
        == std::vector<int>{4, 5, 6});
  CHECK(cafray::get(j.call(&Journal::title), patience) == "t");
}

TEST_CASE_FIXTURE(runtime_fixture, "actor results are refs usable as task "
                                   "arguments, and refs as method arguments") {
  auto c = cafray::actor<Counter>(41).remote();
  auto r = c.call(&Counter::increment); // 42
  CHECK(cafray::get(cafray::task(act_add).remote(r, 8), patience) == 50);
  // A task result as a method argument, resolved before the call.
  auto sum = cafray::task(act_add).remote(3, 4);
  c.call(&Counter::add, sum);
  CHECK(cafray::get(c.call(&Counter::read), patience) == 49);
  // One actor's result as another actor's argument.
  auto other = cafray::actor<Counter>(0).remote();
  other.call(&Counter::add, c.call(&Counter::read));
  CHECK(cafray::get(other.call(&Counter::read), patience) == 49);
}

TEST_CASE_FIXTURE(runtime_fixture, "a handle passed to a task") {
  auto c = cafray::actor<Counter>(0).remote();
  CHECK(cafray::get(cafray::task(bump_counter).remote(c, 3), patience) == 3);
  CHECK(cafray::get(c.call(&Counter::read), patience) == 3);
}

TEST_CASE_FIXTURE(runtime_fixture, "named actors") {
  auto c = cafray::actor<Counter>(100).name("counter-a").remote();
  CHECK(cafray::get(c.call(&Counter::increment), patience) == 101);
  auto found = cafray::get_actor<Counter>("counter-a");
  REQUIRE(found.has_value());
  CHECK(found->id() == c.id());
  CHECK(cafray::get(found->call(&Counter::increment), patience) == 102);
  CHECK(cafray::get(c.call(&Counter::read), patience) == 102);
  CHECK_FALSE(cafray::get_actor<Counter>("nobody").has_value());
  // A second actor under the same name.
  CHECK(code_of_call([] {
          cafray::actor<Counter>(0).name("counter-a").remote();
        })
        == cafray::errc::actor_name_taken);
  // The first one is unaffected.
  CHECK(cafray::get(c.call(&Counter::read), patience) == 102);
  // Other names are free.
  auto b = cafray::actor<Counter>(5).name("counter-b").remote();
  auto found_b = cafray::get_actor<Counter>("counter-b");
  REQUIRE(found_b.has_value());
  CHECK(cafray::get(found_b->call(&Counter::read), patience) == 5);
  CHECK(found_b->id() == b.id());
}

TEST_CASE_FIXTURE(runtime_fixture, "kill: later calls fail with "
                                   "actor_died_error") {
  auto c = cafray::actor<Counter>(0).remote();
  CHECK(cafray::get(c.call(&Counter::increment), patience) == 1);
  cafray::kill(c);
  auto start = std::chrono::steady_clock::now();
  auto r = c.call(&Counter::read);
  CHECK_THROWS_AS(cafray::get(r, patience), cafray::actor_died_error);
  CHECK(code_of_call([&] { cafray::get(r, patience); })
        == cafray::errc::actor_died);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // Every later call fails the same way; other actors keep working.
  CHECK(code_of_call([&] { cafray::get(c.call(&Counter::increment), patience); })
        == cafray::errc::actor_died);
  auto other = cafray::actor<Counter>(9).remote();
  CHECK(cafray::get(other.call(&Counter::read), patience) == 9);
  // Killing twice does nothing more.
  cafray::kill(c);
  CHECK(code_of_call([&] { cafray::get(c.call(&Counter::read), patience); })
        == cafray::errc::actor_died);
}

TEST_CASE_FIXTURE(runtime_fixture, "kill a named actor through get_actor") {
  cafray::actor<Counter>(0).name("doomed").remote();
  auto found = cafray::get_actor<Counter>("doomed");
  REQUIRE(found.has_value());
  cafray::kill(*found);
  CHECK(code_of_call([&] { cafray::get(found->call(&Counter::read), patience); })
        == cafray::errc::actor_died);
}

TEST_CASE_FIXTURE(runtime_fixture, "a method throwing gives a task_error "
                                   "named Class::method") {
  auto c = cafray::actor<Counter>(1).remote();
  try {
    cafray::get(c.call(&Counter::fail, 5), patience);
    FAIL("get did not throw");
  } catch (const cafray::task_error& e) {
    CHECK(e.code() == cafray::errc::task_failed);
    CHECK(e.function() == "Counter::fail");
    CHECK(e.exception_type() == "std::invalid_argument");
    CHECK(e.message() == "cannot fail with 5");
  }
  // The actor survives its method's exception, state intact.
  CHECK(cafray::get(c.call(&Counter::increment), patience) == 2);
  // A task depending on the failed call fails with the method's error.
  try {
    cafray::get(cafray::task(act_add).remote(c.call(&Counter::fail, 6), 1),
                patience);
    FAIL("get did not throw");
  } catch (const cafray::task_error& e) {
    CHECK(e.function() == "Counter::fail");
    CHECK(e.message() == "cannot fail with 6");
  }
}

TEST_CASE_FIXTURE(runtime_fixture, "kill with calls in flight never hangs") {
  auto j = cafray::actor<Journal>(std::string{"x"}, std::vector<int>{})
             .remote();
  std::vector<cafray::object_ref<void>> calls;
  for (int i = 0; i < 200; ++i)
    calls.push_back(j.call(&Journal::append, i));
  auto last = j.call(&Journal::items);
  cafray::kill(j);
  // Each call either ran or fails with actor_died; none is left pending.
  for (auto& c : calls) {
    auto code = code_of_call([&] { cafray::get(c, patience); });
    CHECK((code == cafray::errc::none || code == cafray::errc::actor_died));
  }
  auto code = code_of_call([&] { cafray::get(last, patience); });
  CHECK((code == cafray::errc::none || code == cafray::errc::actor_died));
}

TEST_CASE_FIXTURE(runtime_fixture, "an unregistered method gives "
                                   "unknown_function at get") {
  auto c = cafray::actor<Counter>(3).remote();
  auto r = c.call(&Counter::secret);
  CHECK(code_of_call([&] { cafray::get(r, patience); })
        == cafray::errc::unknown_function);
  CHECK(cafray::get(c.call(&Counter::read), patience) == 3);
}

TEST_CASE_FIXTURE(runtime_fixture, "a failed constructor fails every call") {
  SUBCASE("the constructor throws") {
    auto f = cafray::actor<Fragile>(-2).remote();
    for (int i = 0; i < 2; ++i) {
      try {
        cafray::get(f.call(&Fragile::value), patience);
        FAIL("get did not throw");
      } catch (const cafray::task_error& e) {
        CHECK(e.code() == cafray::errc::task_failed);
        CHECK(e.exception_type() == "std::domain_error");
        CHECK(e.message() == "negative start -2");
      }
    }
  }
  SUBCASE("constructor arguments of the wrong type") {
    auto f = cafray::actor<Fragile>(std::string{"x"}).remote();
    CHECK(code_of_call([&] { cafray::get(f.call(&Fragile::value), patience); })
          == cafray::errc::signature_mismatch);
  }
  SUBCASE("a good one works") {
    auto f = cafray::actor<Fragile>(4).remote();
    CHECK(cafray::get(f.call(&Fragile::value), patience) == 4);
  }
}

} // TEST_SUITE
