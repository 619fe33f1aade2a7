// Remote functions: composition, ref arguments (resolved and unresolved),
// void results, per-call options, dynamic graphs and user types.
#include <atomic>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fixture.hpp"

using namespace api_test;

// -- functions ----------------------------------------------------------------

int f1(int x) {
  return x * x;
}
CAFRAY_REMOTE(f1);

int f2(int y) {
  return y + 10;
}
CAFRAY_REMOTE(f2);

int f3(int x, int y) {
  return x + y;
}
CAFRAY_REMOTE(f3);

std::string join_words(std::string a, const std::string& b) {
  return a + " " + b;
}
CAFRAY_REMOTE(join_words);

/// The parameter is a ref: the task receives it unresolved and reads it.
int read_ref_plus(cafray::object_ref<int> ref, int k) {
  return cafray::get(ref, patience) + k;
}
CAFRAY_REMOTE(read_ref_plus);

/// Never reads its ref: completes even if the object never exists.
int ignore_ref(cafray::object_ref<int> ref) {
  return ref == cafray::object_ref<int>{} ? -1 : 7;
}
CAFRAY_REMOTE(ignore_ref);

std::atomic<int> recorded{0};
std::atomic<int> record_calls{0};

void record_value(int x) {
  recorded.store(x);
  record_calls.fetch_add(1);
}
CAFRAY_REMOTE(record_value);

std::atomic<int> flaky_runs{0};

int always_throws(int x) {
  flaky_runs.fetch_add(1);
  throw std::runtime_error("always fails with " + std::to_string(x));
}
CAFRAY_REMOTE(always_throws);

/// Recursive: each level submits two tasks and blocks in get.
int fib(int n) {
  if (n < 2)
    return n;
  auto a = cafray::task(fib).remote(n - 1);
  auto b = cafray::task(fib).remote(n - 2);
  return cafray::get(a, patience) + cafray::get(b, patience);
}
CAFRAY_REMOTE(fib);

/// A chain of nested blocking tasks `depth` deep.
int chain(int depth) {
  if (depth == 0)
    return 0;
  return cafray::get(cafray::task(chain).remote(depth - 1), patience) + 1;
}
CAFRAY_REMOTE(chain);

/// Fans out n tasks and gathers them with get(vector).
int sum_of_squares(int n) {
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 1; i <= n; ++i)
    refs.push_back(cafray::task(f1).remote(i));
  auto xs = cafray::get(refs, patience);
  return std::accumulate(xs.begin(), xs.end(), 0);
}
CAFRAY_REMOTE(sum_of_squares);

// -- user types -----------------------------------------------------------------

namespace geo {

struct point {
  int x = 0;
  int y = 0;
  std::string label;
  std::vector<int> tags;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& x;
    ar& y;
    ar& label;
    ar& tags;
  }

  friend bool operator==(const point& a, const point& b) {
    return a.x == b.x && a.y == b.y && a.label == b.label && a.tags == b.tags;
  }
};

} // namespace geo

geo::point move_point(geo::point p, int dx, int dy) {
  p.x += dx;
  p.y += dy;
  p.label += "'";
  p.tags.push_back(dx + dy);
  return p;
}
CAFRAY_REMOTE(move_point);

std::map<std::string, int> count_words(std::vector<std::string> words) {
  std::map<std::string, int> result;
  for (auto& w : words)
    ++result[w];
  return result;
}
CAFRAY_REMOTE(count_words);

std::pair<int, std::string> swap_pair(std::pair<std::string, int> p) {
  return {p.second, p.first};
}
CAFRAY_REMOTE(swap_pair);

int64_t sum_vector(std::vector<int> xs) {
  return std::accumulate(xs.begin(), xs.end(), int64_t{0});
}
CAFRAY_REMOTE(sum_vector);

std::vector<int> iota_vector(int n) {
  std::vector<int> xs(static_cast<size_t>(n));
  std::iota(xs.begin(), xs.end(), 0);
  return xs;
}
CAFRAY_REMOTE(iota_vector);

// -- tests ----------------------------------------------------------------------

TEST_SUITE("api.tasks") {

TEST_CASE_FIXTURE(runtime_fixture, "f1/f2/f3 composition gives 17") {
  auto x = cafray::task(f1).remote(2);
  auto y = cafray::task(f2).remote(3);
  auto z = cafray::task(f3).remote(x, y);
  CHECK(cafray::get(x, patience) == 4);
  CHECK(cafray::get(y, patience) == 13);
  CHECK(cafray::get(z, patience) == 17);
}

TEST_CASE_FIXTURE(runtime_fixture, "arguments by value, refs resolved first") {
  CHECK(cafray::get(cafray::task(f3).remote(40, 2), patience) == 42);
  // A put ref and a task ref where ints are expected.
  auto from_put = cafray::put(40);
  CHECK(cafray::get(cafray::task(f3).remote(from_put, 2), patience) == 42);
  auto from_task = cafray::task(f1).remote(6);
  CHECK(cafray::get(cafray::task(f3).remote(from_task, from_put), patience)
        == 76);
  // A chain of dependencies, each level resolved before the call.
  auto r = cafray::task(f2).remote(cafray::task(f2).remote(
    cafray::task(f2).remote(cafray::task(f1).remote(3))));
  CHECK(cafray::get(r, patience) == 39);
  // Strings, const& parameters and string refs.
  auto hello = cafray::put(std::string{"hello"});
  CHECK(cafray::get(cafray::task(join_words).remote(hello, std::string{"world"}),
                    patience)
        == "hello world");
}

TEST_CASE_FIXTURE(runtime_fixture, "the same function by registered name") {
  CHECK(cafray::get(cafray::task<int>("f1").remote(9), patience) == 81);
  CHECK(cafray::get(cafray::task<int>("f3").remote(cafray::put(1), 2),
                    patience)
        == 3);
}

TEST_CASE_FIXTURE(runtime_fixture, "object_ref parameters arrive unresolved") {
  auto five = cafray::put(5);
  CHECK(cafray::get(cafray::task(read_ref_plus).remote(five, 1), patience)
        == 6);
  // The ref of a task that runs later is read by the task itself.
  auto squared = cafray::task(f1).remote(7);
  CHECK(cafray::get(cafray::task(read_ref_plus).remote(squared, 1), patience)
        == 50);
  // A ref to an object that never exists: had it been resolved first, the
  // task would never run.
  auto never = cafray::task(f1).resources({{unobtainium, 1}}).remote(1);
  CHECK(cafray::get(cafray::task(ignore_ref).remote(never), patience) == 7);
}

TEST_CASE_FIXTURE(runtime_fixture, "void functions give a completion ref") {
  recorded = 0;
  record_calls = 0;
  cafray::object_ref<void> done = cafray::task(record_value).remote(42);
  cafray::get(done, patience);
  CHECK(recorded.load() == 42);
  CHECK(record_calls.load() == 1);
  // A void ref works with wait too.
  auto w = cafray::wait(std::vector<cafray::object_ref<void>>{done}, 1,
                        patience);
  CHECK(w.ready.size() == 1);
  CHECK(w.unready.empty());
  // A void task taking a ref argument runs after it.
  cafray::get(cafray::task(record_value).remote(cafray::task(f1).remote(5)),
              patience);
  CHECK(recorded.load() == 25);
  CHECK(record_calls.load() == 2);
  // get of many void refs waits for all of them.
  std::vector<cafray::object_ref<void>> many;
  for (int i = 1; i <= 10; ++i)
    many.push_back(cafray::task(record_value).remote(i));
  cafray::get(many, patience);
  CHECK(record_calls.load() == 12);
}

TEST_CASE_FIXTURE(runtime_fixture, "per-call options") {
  SUBCASE("CPU resources run") {
    CHECK(cafray::get(cafray::task(f1).resources({{"CPU", 1}}).remote(3),
                      patience)
          == 9);
    CHECK(cafray::get(cafray::task(f1).resources({{"CPU", 2}}).remote(4),
                      patience)
          == 16);
    CHECK(cafray::get(cafray::task(f1).resources({{"CPU", 0.5}}).remote(5),
                      patience)
          == 25);
  }
  SUBCASE("a custom resource the node offers runs") {
    CHECK(cafray::get(cafray::task(f1).resources({{gpu, 1}}).remote(6),
                      patience)
          == 36);
    CHECK(cafray::get(cafray::task<int>("f2").resources({{gpu, 1}}).remote(6),
                      patience)
          == 16);
  }
  SUBCASE("name") {
    CHECK(cafray::get(cafray::task(f2).name("labelled").remote(1), patience)
          == 11);
  }
  SUBCASE("max_retries is accepted; exceptions are not retried") {
    CHECK(cafray::get(cafray::task(f1).max_retries(0).remote(7), patience)
          == 49);
    CHECK(cafray::get(cafray::task(f1).max_retries(5).remote(8), patience)
          == 64);
    CHECK(cafray::get(cafray::task<int>("f1").max_retries(2).remote(9),
                      patience)
          == 81);
    flaky_runs = 0;
    auto r = cafray::task(always_throws).max_retries(3).remote(1);
    CHECK_THROWS_AS(cafray::get(r, patience), cafray::task_error);
    CHECK(flaky_runs.load() == 1);
  }
  SUBCASE("options combine") {
    CHECK(cafray::get(cafray::task(f3)
                        .resources({{"CPU", 1}, {gpu, 1}})
                        .max_retries(1)
                        .name("all options")
                        .remote(20, 22),
                      patience)
          == 42);
  }
}

TEST_CASE("dynamic graphs nest deeper than the CPU count") {
  auto cfg = test_config();
  cfg.num_cpus = 2;
  cafray::init(cfg);
  SUBCASE("chain of depth 8") {
    CHECK(cafray::get(cafray::task(chain).remote(8), patience) == 8);
  }
  SUBCASE("chain of depth 20") {
    CHECK(cafray::get(cafray::task(chain).remote(20), patience) == 20);
  }
  SUBCASE("recursive fib(8)") {
    CHECK(cafray::get(cafray::task(fib).remote(8), patience) == 21);
  }
  SUBCASE("recursive fib(10)") {
    CHECK(cafray::get(cafray::task(fib).remote(10), patience) == 55);
  }
  SUBCASE("fan-out and gather inside a task") {
    CHECK(cafray::get(cafray::task(sum_of_squares).remote(10), patience)
          == 385);
    std::vector<cafray::object_ref<int>> outer;
    for (int i = 1; i <= 4; ++i)
      outer.push_back(cafray::task(sum_of_squares).remote(i));
    CHECK(cafray::get(outer, patience) == std::vector<int>{1, 5, 14, 30});
  }
  cafray::shutdown();
}

namespace {

std::atomic<bool> hold_released{false};

// Occupies its worker (without blocking in get) until the test releases it.
int hold() {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!hold_released.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return -1;
}
CAFRAY_REMOTE(hold);

} // namespace

TEST_CASE_FIXTURE(runtime_fixture, "tasks queued behind a long task are "
                                   "stolen by an idle worker") {
  hold_released = false;
  auto busy = cafray::task(hold).remote();
  std::vector<cafray::object_ref<int>> quick;
  for (int i = 0; i < 40; ++i)
    quick.push_back(cafray::task(f1).remote(i));
  std::vector<int> expected;
  for (int i = 0; i < 40; ++i)
    expected.push_back(i * i);
  // Some of these were queued on the worker running `hold`; they finish
  // while it still runs.
  CHECK(cafray::get(quick, patience) == expected);
  auto [ready, unready] = cafray::wait(std::vector{busy}, 1, 0ms);
  CHECK(ready.empty());
  CHECK_EQ(unready.size(), 1u);
  hold_released = true;
  CHECK_EQ(cafray::get(busy, patience), -1);
}

TEST_CASE_FIXTURE(runtime_fixture, "user types with serialize() as argument "
                                   "and result") {
  geo::point p{1, 2, "p", {7}};
  auto moved = cafray::get(cafray::task(move_point).remote(p, 10, 20), patience);
  CHECK(moved == geo::point{11, 22, "p'", {7, 30}});
  // From a put ref, and a task result feeding the next task.
  auto twice = cafray::task(move_point)
                 .remote(cafray::task(move_point).remote(cafray::put(p), 1, 1),
                         1, 1);
  CHECK(cafray::get(twice, patience) == geo::point{3, 4, "p''", {7, 2, 2}});
  CHECK(cafray::get(cafray::put(p), patience) == p);
}

TEST_CASE_FIXTURE(runtime_fixture, "std containers and strings out of the "
                                   "box") {
  auto counts = cafray::get(cafray::task(count_words)
                              .remote(std::vector<std::string>{"a", "b", "a",
                                                               "c", "a"}),
                            patience);
  CHECK(counts == std::map<std::string, int>{{"a", 3}, {"b", 1}, {"c", 1}});
  auto swapped = cafray::get(cafray::task(swap_pair)
                               .remote(std::pair<std::string, int>{"x", 5}),
                             patience);
  CHECK(swapped == std::pair<int, std::string>{5, "x"});
  // Values beyond the inline threshold (100 KiB) in both directions.
  auto big = cafray::task(iota_vector).remote(100000);
  auto xs = cafray::get(big, patience);
  REQUIRE(xs.size() == 100000);
  CHECK(xs.front() == 0);
  CHECK(xs.back() == 99999);
  CHECK(cafray::get(cafray::task(sum_vector).remote(big), patience)
        == int64_t{4999950000});
  CHECK(cafray::get(cafray::task(sum_vector).remote(xs), patience)
        == int64_t{4999950000});
}

} // TEST_SUITE
