// arena_allocator: exact offsets of best fit, coalescing, a full arena, and
// the preference for warm (already backed) memory.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "object_store/arena_allocator.hpp"

using namespace cafray;

namespace {

constexpr uint64_t kib = 1024;

uint64_t must(std::optional<uint64_t> x) {
  REQUIRE(x.has_value());
  return *x;
}

} // namespace

TEST_CASE("arena_allocator rounds sizes to 64 bytes and packs regions") {
  arena_allocator a{4 * kib};
  CHECK_EQ(a.capacity(), 4 * kib);
  CHECK_EQ(a.available(), 4 * kib);
  CHECK_EQ(a.free_regions(), 1u);
  CHECK_EQ(must(a.allocate(1)), 0u);
  CHECK_EQ(must(a.allocate(64)), 64u);
  CHECK_EQ(must(a.allocate(65)), 128u);
  CHECK_EQ(must(a.allocate(0)), 256u);
  CHECK_EQ(a.region_size(0), 64u);
  CHECK_EQ(a.region_size(128), 128u);
  CHECK_EQ(a.region_size(256), 64u);
  CHECK_EQ(a.region_size(100), 0u);
  CHECK_EQ(a.used(), 320u);
  CHECK_EQ(a.regions(), 4u);
  CHECK_EQ(a.high_water(), 320u);
  CHECK_EQ(a.largest_free(), 4 * kib - 320);
}

TEST_CASE("arena_allocator capacity is rounded down to the alignment") {
  arena_allocator a{1000};
  CHECK_EQ(a.capacity(), 960u);
  arena_allocator empty{63};
  CHECK_EQ(empty.capacity(), 0u);
  CHECK_FALSE(empty.allocate(1).has_value());
}

TEST_CASE("arena_allocator reports a full arena and recovers after free") {
  arena_allocator a{1 * kib};
  CHECK_FALSE(a.allocate(1 * kib + 1).has_value());
  CHECK_FALSE(a.allocate(UINT64_MAX).has_value());
  CHECK_EQ(must(a.allocate(512)), 0u);
  CHECK_EQ(must(a.allocate(512)), 512u);
  CHECK_EQ(a.available(), 0u);
  CHECK_EQ(a.largest_free(), 0u);
  CHECK_EQ(a.free_regions(), 0u);
  CHECK_FALSE(a.allocate(1).has_value());
  CHECK_EQ(a.free(0), 512u);
  CHECK_FALSE(a.allocate(513).has_value());
  CHECK_EQ(must(a.allocate(512)), 0u);
}

TEST_CASE("arena_allocator free of an unknown offset changes nothing") {
  arena_allocator a{1 * kib};
  CHECK_EQ(must(a.allocate(128)), 0u);
  CHECK_EQ(a.free(64), 0u);
  CHECK_EQ(a.free(512), 0u);
  CHECK_EQ(a.free(0), 128u);
  CHECK_EQ(a.free(0), 0u); // twice
  CHECK_EQ(a.used(), 0u);
  CHECK_EQ(a.free_regions(), 1u);
  CHECK_EQ(a.largest_free(), 1 * kib);
}

TEST_CASE("arena_allocator coalesces with both neighbours") {
  arena_allocator a{1 * kib};
  auto x = must(a.allocate(256)); // [0, 256)
  auto y = must(a.allocate(256)); // [256, 512)
  auto z = must(a.allocate(256)); // [512, 768)
  CHECK_EQ(a.free_regions(), 1u); // the tail [768, 1024)
  CHECK_EQ(a.free(x), 256u);
  CHECK_EQ(a.free_regions(), 2u);
  CHECK_EQ(a.free(z), 256u); // merges with the tail
  CHECK_EQ(a.free_regions(), 2u);
  CHECK_EQ(a.largest_free(), 512u);
  CHECK_EQ(a.free(y), 256u); // merges left and right
  CHECK_EQ(a.free_regions(), 1u);
  CHECK_EQ(a.largest_free(), 1 * kib);
  CHECK_EQ(a.used(), 0u);
  // The whole arena is one region again.
  CHECK_EQ(must(a.allocate(1 * kib)), 0u);
}

TEST_CASE("arena_allocator takes the best fit, lowest offset among equals") {
  arena_allocator a{4 * kib};
  std::vector<uint64_t> xs;
  for (int i = 0; i < 8; ++i)
    xs.push_back(must(a.allocate(256))); // [0, 2048)
  // Holes: 256 at 0, 512 at 512, 256 at 1536; the tail 2048 at 2048.
  a.free(xs[0]);
  a.free(xs[2]);
  a.free(xs[3]);
  a.free(xs[6]);
  CHECK_EQ(a.free_regions(), 4u);
  CHECK_EQ(must(a.allocate(200)), 0u);    // best fit: a 256 hole, lowest
  CHECK_EQ(must(a.allocate(256)), 1536u); // the other 256 hole
  CHECK_EQ(must(a.allocate(300)), 512u);  // the 512 hole, split
  CHECK_EQ(must(a.allocate(192)), 832u);  // what is left of it
  CHECK_EQ(must(a.allocate(64)), 2048u);  // only the tail is left
  CHECK_EQ(a.high_water(), 2112u);
}

TEST_CASE("arena_allocator prefers warm memory to the cold tail") {
  arena_allocator a{8 * kib};
  auto big = must(a.allocate(2 * kib));   // [0, 2048)
  auto small = must(a.allocate(1 * kib)); // [2048, 3072)
  CHECK_EQ(a.high_water(), 3 * kib);
  a.free(big);
  // Free: the warm 2048 at 0 and the cold tail [3072, 8192).
  CHECK_EQ(must(a.allocate(2 * kib)), 0u);
  a.free(0);
  a.free(small);
  // Now one region [0, 8192) with [0, 3072) warm: a request that fits in
  // the warm part starts at 0.
  CHECK_EQ(a.free_regions(), 1u);
  CHECK_EQ(must(a.allocate(3 * kib)), 0u);
  a.free(0);
  // A warm hole larger than the cold tail is preferred over the tail.
  arena_allocator b{4 * kib};
  auto w = must(b.allocate(3 * kib));  // [0, 3072), warm afterwards
  auto pad = must(b.allocate(64));     // [3072, 3136) keeps them apart
  b.free(w);
  CHECK_EQ(b.high_water(), 3136u);
  // Free: warm 3072 at 0, cold tail 960 at 3136. Best fit for 512 is the
  // tail, but it is cold: the warm hole is taken instead.
  CHECK_EQ(must(b.allocate(512)), 0u);
  CHECK_EQ(b.high_water(), 3136u);
  // When only the tail fits, the tail it is.
  CHECK_EQ(must(b.allocate(2560)), 512u);
  CHECK_EQ(must(b.allocate(960)), 3136u);
  CHECK_EQ(b.high_water(), 4096u);
  CHECK_EQ(b.free(pad), 64u);
}

TEST_CASE("arena_allocator survives a churn of mixed sizes") {
  arena_allocator a{1024 * kib};
  std::vector<std::pair<uint64_t, uint64_t>> live;
  uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  for (int round = 0; round < 5000; ++round) {
    if (live.empty() || next() % 3 != 0) {
      auto size = 1 + next() % (16 * kib);
      if (auto off = a.allocate(size)) {
        CHECK_EQ(*off % arena_allocator::alignment, 0u);
        CHECK_LE(*off + size, a.capacity());
        live.emplace_back(*off, arena_allocator::round_up(size));
      }
    } else {
      auto i = next() % live.size();
      CHECK_EQ(a.free(live[i].first), live[i].second);
      live.erase(live.begin() + static_cast<long>(i));
    }
  }
  // No two live regions overlap and the books add up.
  std::sort(live.begin(), live.end());
  uint64_t used = 0;
  for (size_t i = 0; i < live.size(); ++i) {
    used += live[i].second;
    if (i + 1 < live.size())
      CHECK_LE(live[i].first + live[i].second, live[i + 1].first);
  }
  CHECK_EQ(a.used(), used);
  CHECK_EQ(a.regions(), live.size());
  for (auto& [off, size] : live)
    CHECK_EQ(a.free(off), size);
  CHECK_EQ(a.used(), 0u);
  CHECK_EQ(a.free_regions(), 1u);
  CHECK_EQ(a.largest_free(), a.capacity());
}
