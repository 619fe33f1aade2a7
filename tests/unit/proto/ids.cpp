// IDs: ordering of storage keys, uniqueness of derived task IDs, and the
// stable hash every process must agree on.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/ids.hpp"

using namespace cafray;

TEST_CASE("to_key is 16 or 20 big-endian bytes") {
  auto key = to_key(task_id{0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL});
  CHECK_EQ(key, std::string{"\x01\x02\x03\x04\x05\x06\x07\x08"
                            "\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
                            16});
  auto okey = to_key(object_id{task_id{0, 1}, 0x80000002u});
  CHECK_EQ(okey, std::string{"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
                             "\x80\0\0\x02",
                             20});
}

TEST_CASE("to_key orders bytes as operator< orders ids") {
  std::mt19937_64 gen{42};
  std::vector<object_id> ids;
  // Small and large words, to catch sign and endianness mistakes.
  const uint64_t words[] = {0, 1, 0xff, 0x100, 0x7fffffffffffffffULL,
                            0x8000000000000000ULL, ~0ULL};
  for (auto hi : words)
    for (auto lo : words)
      for (uint32_t index : {0u, 1u, 0x7fffffffu, 0x80000000u, ~0u})
        ids.push_back(object_id{task_id{hi, lo}, index});
  for (int i = 0; i < 500; ++i)
    ids.push_back(object_id{task_id{gen(), gen()},
                            static_cast<uint32_t>(gen())});
  auto by_id = ids;
  std::sort(by_id.begin(), by_id.end());
  auto by_key = ids;
  std::sort(by_key.begin(), by_key.end(),
            [](const object_id& x, const object_id& y) {
              return to_key(x) < to_key(y);
            });
  CHECK(by_id == by_key);
  for (size_t i = 0; i + 1 < by_id.size(); ++i) {
    auto& x = by_id[i].task;
    auto& y = by_id[i + 1].task;
    CHECK_EQ(x < y, to_key(x) < to_key(y));
  }
}

TEST_CASE("derive_task_id is unique for 100k indices; siblings sort by index") {
  task_id parent{0xabcdef0123456789ULL, 0x1111111111111111ULL};
  std::unordered_set<task_id> seen;
  seen.reserve(100000);
  auto first = derive_task_id(parent, 0);
  for (uint64_t i = 0; i < 100000; ++i) {
    auto id = derive_task_id(parent, i);
    REQUIRE_EQ(id.hi, first.hi);
    REQUIRE_EQ(id.lo, i);
    if (i > 0)
      REQUIRE(to_key(derive_task_id(parent, i - 1)) < to_key(id));
    REQUIRE(id != parent);
    REQUIRE_FALSE(id.nil());
    seen.insert(id);
  }
  CHECK_EQ(seen.size(), 100000u);
  // Deterministic: the same (parent, index) gives the same child anywhere.
  CHECK(derive_task_id(parent, 7) == derive_task_id(parent, 7));
  // Siblings of different parents differ.
  task_id other{parent.hi, parent.lo + 1};
  CHECK(derive_task_id(parent, 0) != derive_task_id(other, 0));
}

TEST_CASE("stable_hash is 64-bit FNV-1a with fixed values") {
  // Reference values of FNV-1a 64 (Fowler/Noll/Vo test vectors).
  CHECK_EQ(stable_hash(""), 0xcbf29ce484222325ULL);
  CHECK_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cULL);
  CHECK_EQ(stable_hash("foobar"), 0x85944171f73967e8ULL);
  // Bytes above 0x7f hash as unsigned.
  CHECK_EQ(stable_hash(std::string{"\xff"}),
           (0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL);
}

TEST_CASE("to_string renders ids as 32 hex digits") {
  CHECK_EQ(to_string(task_id{0x1, 0xabcdef}),
           "00000000000000010000000000abcdef");
  CHECK_EQ(to_string(object_id{task_id{0, 0xff}, 3}),
           "000000000000000000000000000000ff:3");
  CHECK_EQ(to_string(node_id{~0ULL, 0}),
           "ffffffffffffffff0000000000000000");
}

TEST_CASE("random ids are never nil and hash apart") {
  std::unordered_set<actor_id> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_random_id<actor_id>();
    CHECK_FALSE(id.nil());
    seen.insert(id);
  }
  CHECK_EQ(seen.size(), 1000u);
}
