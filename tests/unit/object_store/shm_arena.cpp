// shm_arena: a memfd arena shared by name with another process, clean
// failures, and blobs that refer to arena bytes without copying them.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "object_store/shm_arena.hpp"

using namespace cafray;

namespace {

constexpr uint64_t mib = uint64_t{1} << 20;

char pattern(uint64_t seed, uint64_t i) {
  return static_cast<char>(((i + seed) * 2654435761u) >> 11);
}

std::shared_ptr<shm_arena> make_arena(uint64_t capacity) {
  auto arena = shm_arena::create(capacity);
  REQUIRE_MESSAGE(arena, render(arena.error()));
  return *arena;
}

/// Runs arena-child (fork + exec: a fresh process, no inherited mapping)
/// and returns its exit status.
int run_child(const std::string& name, uint64_t offset, uint64_t size,
              uint64_t seed) {
  std::vector<std::string> args{CAFRAY_ARENA_CHILD, name,
                                std::to_string(offset), std::to_string(size),
                                std::to_string(seed)};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE_EQ(waitpid(pid, &status, 0), pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

} // namespace

TEST_CASE("shm_arena: a new arena is owned, writable and named by fd") {
  auto arena = make_arena(10 * mib + 1);
  CHECK(arena->owner());
  CHECK(arena->writable());
  CHECK_EQ(arena->capacity(), 10 * mib + 4096); // whole pages
  auto prefix = "/proc/" + std::to_string(getpid()) + "/fd/";
  CHECK_EQ(arena->name().rfind(prefix, 0), 0u);
  auto usage = arena->usage();
  CHECK_EQ(usage.capacity, arena->capacity());
  CHECK_EQ(usage.used, 0u);
  CHECK_EQ(usage.backed, 0u);
  CHECK_EQ(usage.free_regions, 1u);
}

TEST_CASE("shm_arena: zero capacity is an invalid configuration") {
  auto arena = shm_arena::create(0);
  REQUIRE_FALSE(arena);
  CHECK_EQ(code_of(arena.error()), errc::invalid_config);
}

TEST_CASE("shm_arena: allocation backs fresh pages once and fails cleanly") {
  auto arena = make_arena(4 * mib);
  auto a = arena->allocate(1 * mib + 1);
  REQUIRE(a);
  CHECK_EQ(*a, 0u);
  CHECK_EQ(arena->region_size(*a), 1 * mib + 64);
  // Backed up to the end of the page holding the region's last byte.
  CHECK_EQ(arena->usage().backed, 1 * mib + 4096);
  auto b = arena->allocate(3 * mib - 64);
  REQUIRE(b);
  CHECK_EQ(*b, 1 * mib + 64);
  CHECK_EQ(arena->usage().backed, 4 * mib);
  // Full: a clean "no", not an exception or a crash.
  CHECK_FALSE(arena->allocate(1).has_value());
  CHECK_FALSE(arena->allocate(5 * mib).has_value());
  CHECK(arena->free(*a));
  CHECK_FALSE(arena->free(*a));
  CHECK_FALSE(arena->free(12345));
  // The freed region is warm: a re-put of the same size lands there.
  auto c = arena->allocate(1 * mib);
  REQUIRE(c);
  CHECK_EQ(*c, 0u);
  CHECK_EQ(arena->usage().used, 4 * mib - 64);
  CHECK_EQ(arena->usage().regions, 2u);
}

TEST_CASE("shm_arena: writes through one mapping show in another") {
  auto arena = make_arena(1 * mib);
  auto off = arena->allocate(4096);
  REQUIRE(off);
  std::memcpy(arena->at(*off), "hello arena", 12);
  auto reader = shm_arena::attach(arena->name(), shm_arena::access::read_only);
  REQUIRE_MESSAGE(reader, render(reader.error()));
  CHECK_FALSE((*reader)->owner());
  CHECK_FALSE((*reader)->writable());
  CHECK_EQ((*reader)->capacity(), arena->capacity());
  CHECK(std::string((*reader)->at(*off)) == "hello arena");
  CHECK((*reader)->prefault(*off, 4096));
  CHECK_FALSE((*reader)->prefault(arena->capacity(), 1));
  CHECK_FALSE((*reader)->allocate(64).has_value());
}

TEST_CASE("shm_arena: another process attaches by name, reads and writes") {
  auto arena = make_arena(64 * mib);
  REQUIRE(arena->allocate(1 * mib)); // something before the region
  uint64_t size = 24 * mib + 17;
  auto off = arena->allocate(size);
  REQUIRE(off);
  auto p = arena->at(*off);
  for (uint64_t i = 0; i < size; ++i)
    p[i] = pattern(5, i);
  REQUIRE_EQ(run_child(arena->name(), *off, size, 5), 0);
  // The child wrote pattern(6) over the region through its own mapping.
  uint64_t wrong = 0;
  for (uint64_t i = 0; i < size; ++i)
    wrong += p[i] != pattern(6, i);
  CHECK_EQ(wrong, 0u);
  // The bytes around the region are untouched.
  CHECK_EQ(arena->at(*off + size)[0], 0);
  // A child that finds different bytes says so.
  CHECK_EQ(run_child(arena->name(), *off, size, 5), 7);
}

TEST_CASE("shm_arena: the name is gone with its owner, mappings are not") {
  auto arena = make_arena(1 * mib);
  auto name = arena->name();
  auto off = arena->allocate(64);
  REQUIRE(off);
  std::memcpy(arena->at(*off), "still here", 11);
  auto reader = shm_arena::attach(name, shm_arena::access::read_only);
  REQUIRE(reader);
  arena.reset();
  CHECK(std::string((*reader)->at(*off)) == "still here");
  auto late = shm_arena::attach(name, shm_arena::access::read_only);
  REQUIRE_FALSE(late);
  CHECK_EQ(code_of(late.error()), errc::not_found);
  CHECK_EQ(run_child(name, 0, 64, 1), 3);
  // A file that is no arena is never mapped (a stale name whose descriptor
  // number went to another file).
  auto other = shm_arena::attach("/proc/self/exe",
                                 shm_arena::access::read_only);
  REQUIRE_FALSE(other);
  CHECK_EQ(code_of(other.error()), errc::not_found);
}

TEST_CASE("shm_arena: an arena blob refers to the bytes and pins them") {
  auto arena = make_arena(1 * mib);
  auto off = arena->allocate(100);
  REQUIRE(off);
  std::memcpy(arena->at(*off), "0123456789", 10);
  auto pinned = std::make_shared<int>(7);
  std::weak_ptr<int> pin_alive = pinned;
  std::weak_ptr<shm_arena> arena_alive = arena;
  auto x = arena_blob(arena, *off, 10, std::move(pinned));
  CHECK_EQ(x.data(), arena->at(*off));
  CHECK_EQ(x.size(), 10u);
  CHECK(x == blob{std::vector<char>{'0', '1', '2', '3', '4', '5', '6', '7',
                                    '8', '9'}});
  arena.reset();
  // The blob keeps both the mapping and the pin.
  CHECK_FALSE(arena_alive.expired());
  CHECK_FALSE(pin_alive.expired());
  CHECK_EQ(std::string(x.data(), x.size()), "0123456789");
  auto copy = x;
  x = blob{};
  CHECK_FALSE(pin_alive.expired());
  copy = blob{};
  CHECK(pin_alive.expired());
  CHECK(arena_alive.expired());
}
