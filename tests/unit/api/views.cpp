// get_view: zero-copy typed views of array objects, pinned while they live.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"
#include "object_store/shm_arena.hpp"

using namespace api_test;

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<double> view_ramp(int64_t n) {
  std::vector<double> xs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    xs[static_cast<size_t>(i)] = 0.5 * static_cast<double>(i) - 7.25;
  return xs;
}

std::vector<int32_t> view_squares(int32_t n) {
  std::vector<int32_t> xs;
  for (int32_t i = 0; i < n; ++i)
    xs.push_back(i * i);
  return xs;
}

std::vector<double> view_fail(int64_t n) {
  throw std::runtime_error("no ramp of " + std::to_string(n));
}

/// Waits (bounded) until the store holds `n` objects; returns the count.
uint64_t objects_eventually(uint64_t n) {
  auto deadline = clock_type::now() + patience;
  auto count = cafray::object_store_stats().objects;
  while (count != n && clock_type::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    count = cafray::object_store_stats().objects;
  }
  return count;
}

} // namespace

CAFRAY_REMOTE(view_ramp);
CAFRAY_REMOTE(view_squares);
CAFRAY_REMOTE(view_fail);

TEST_SUITE("views") {

TEST_CASE_FIXTURE(runtime_fixture,
                  "a view of a put vector sees every element") {
  constexpr size_t n = 1 << 20; // 8 MiB: in the store, not inline
  std::vector<double> xs(n);
  for (size_t i = 0; i < n; ++i)
    xs[i] = static_cast<double>(i) * 1.5 - 1e6;
  xs[3] = -0.0;
  xs[4] = 1e-310; // a denormal
  auto ref = cafray::put(xs);
  cafray::array_view<double> v = cafray::get_view(ref, patience);
  REQUIRE_EQ(v.size(), n);
  CHECK_FALSE(v.empty());
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i)
    wrong += std::memcmp(&v[i], &xs[i], sizeof(double)) != 0;
  CHECK_EQ(wrong, 0u);
  CHECK_EQ(v.front(), xs.front());
  CHECK_EQ(v.back(), xs.back());
  CHECK_EQ(v.end() - v.begin(), static_cast<ptrdiff_t>(n));
  // get of the same object still decodes the vector.
  CHECK(cafray::get(ref, patience) == xs);
}

TEST_CASE_FIXTURE(runtime_fixture, "views point at the object, not a copy") {
  auto ref = cafray::put(view_ramp(100000));
  auto a = cafray::get_view(ref, patience);
  auto b = cafray::get_view<double>(ref, patience);
  REQUIRE_EQ(a.size(), 100000u);
  // Both views read the same bytes in place: the store's copy.
  CHECK_EQ(a.data(), b.data());
  auto copy = a;
  CHECK_EQ(copy.data(), a.data());
  // A task's result is viewable too, in place as well.
  auto r = cafray::task(view_ramp).remote(int64_t{300000});
  auto c = cafray::get_view(r, patience);
  auto d = cafray::get_view(r, patience);
  REQUIRE_EQ(c.size(), 300000u);
  CHECK_EQ(c.data(), d.data());
  for (size_t i = 0; i < c.size(); ++i)
    if (c[i] != 0.5 * static_cast<double>(i) - 7.25)
      FAIL("element " << i << " is " << c[i]);
}

TEST_CASE_FIXTURE(runtime_fixture, "a view keeps its object alive") {
  REQUIRE_EQ(objects_eventually(0), 0u);
  auto ref = cafray::put(view_ramp(50000));
  REQUIRE_EQ(objects_eventually(1), 1u);
  auto v = cafray::get_view(ref, patience);
  auto first = v.data();
  ref = {};
  // The ref is gone, the view still pins the object.
  std::this_thread::sleep_for(50ms);
  CHECK_EQ(cafray::object_store_stats().objects, 1u);
  CHECK_EQ(v.data(), first);
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != 0.5 * static_cast<double>(i) - 7.25)
      FAIL("element " << i << " is " << v[i]);
  // The last copy of the view releases it.
  auto copy = v;
  v = {};
  std::this_thread::sleep_for(20ms);
  CHECK_EQ(cafray::object_store_stats().objects, 1u);
  CHECK_EQ(copy[49999], 0.5 * 49999 - 7.25);
  copy = {};
  CHECK_EQ(objects_eventually(0), 0u);
}

TEST_CASE_FIXTURE(runtime_fixture,
                  "views of small, empty, integer and text objects") {
  auto small = cafray::get_view(cafray::put(std::vector<double>{1.0, 2.5}),
                                patience);
  REQUIRE_EQ(small.size(), 2u);
  CHECK_EQ(small[0], 1.0);
  CHECK_EQ(small[1], 2.5);
  auto empty = cafray::get_view(cafray::put(std::vector<double>{}), patience);
  CHECK(empty.empty());
  CHECK_EQ(empty.begin(), empty.end());
  auto squares = cafray::get_view(
    cafray::task(view_squares).remote(int32_t{1000}), patience);
  REQUIRE_EQ(squares.size(), 1000u);
  for (int32_t i = 0; i < 1000; ++i)
    CHECK_EQ(squares[static_cast<size_t>(i)], i * i);
  auto text = cafray::get_view(cafray::put(std::string{"hello, view"}),
                               patience);
  CHECK_EQ(std::string(text.begin(), text.end()), "hello, view");
}

TEST_CASE_FIXTURE(runtime_fixture, "a view of a failed task throws its error") {
  auto r = cafray::task(view_fail).remote(int64_t{3});
  CHECK_THROWS_AS(cafray::get_view(r, patience), cafray::task_error);
  // A view waits like get, and times out like get.
  auto never = cafray::task(view_ramp)
                 .resources({{unobtainium, 1}})
                 .remote(int64_t{1});
  CHECK_EQ(code_of_call([&] { cafray::get_view(never, 50ms); }),
           cafray::errc::timeout);
}

TEST_CASE("a view over shared-memory arena bytes reads them in place") {
  // What a node's object store will hand out: a blob of an arena region
  // whose keepalive is the store's pin. No runtime needed.
  auto arena = cafray::shm_arena::create(4 << 20);
  REQUIRE(arena);
  constexpr size_t n = 100000;
  auto off = (*arena)->allocate(n * sizeof(double));
  REQUIRE(off);
  auto region = reinterpret_cast<double*>((*arena)->at(*off));
  for (size_t i = 0; i < n; ++i)
    region[i] = static_cast<double>(i) / 4;
  auto pin = std::make_shared<int>(0);
  std::weak_ptr<int> pinned = pin;
  auto bytes = cafray::arena_blob(*arena, *off, n * sizeof(double),
                                  std::move(pin));
  auto v = cafray::detail::view_bytes<double>(bytes);
  bytes = {};
  arena->reset();
  REQUIRE_EQ(v.size(), n);
  CHECK_EQ(v.data(), region);
  for (size_t i = 0; i < n; ++i)
    if (v[i] != static_cast<double>(i) / 4)
      FAIL("element " << i << " is " << v[i]);
  // The view alone holds the pin (and the mapping).
  CHECK_FALSE(pinned.expired());
  v = {};
  CHECK(pinned.expired());
}

} // TEST_SUITE
