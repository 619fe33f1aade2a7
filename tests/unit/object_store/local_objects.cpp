// local_objects: the node's arena, its seal watches, and how the store's
// adoption and release interleave with producers sealing there first.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "object_store/local_objects.hpp"
#include "object_store/object_table.hpp"

using namespace cafray;

namespace {

object_id oid(uint64_t n) {
  return object_id{task_id{7, n}, 1};
}

object_payload value(std::string bytes) {
  object_payload result;
  result.data = blob{blob::buffer(bytes.begin(), bytes.end())};
  return result;
}

std::string str(const object_payload& p) {
  return std::string(p.data.data() ? p.data.data() : "", p.data.size());
}

/// Records the seals it hears of.
class recorder : public seal_watch {
public:
  void sealed(const object_id& id) override {
    seen.push_back(id);
  }

  std::vector<object_id> seen;
};

} // namespace

TEST_CASE("the first seal wins; missing lists distinct unsealed IDs") {
  local_objects arena;
  CHECK(arena.insert(oid(1), value("a")));
  CHECK_FALSE(arena.insert(oid(1), value("b")));
  CHECK_EQ(str(*arena.find(oid(1))), "a");
  auto missing = arena.missing({oid(3), oid(1), oid(2), oid(3)});
  CHECK(missing == std::vector<object_id>{oid(2), oid(3)});
}

TEST_CASE("a watch hears each watched seal exactly once") {
  local_objects arena;
  auto w = std::make_shared<recorder>();
  arena.watch(arena.missing({oid(1), oid(2)}), w);
  arena.insert(oid(2), value("x"));
  arena.insert(oid(9), value("unwatched"));
  CHECK(w->seen == std::vector<object_id>{oid(2)});
  arena.insert(oid(1), value("y"));
  arena.adopt(oid(1), value("y"));
  CHECK(w->seen == std::vector<object_id>{oid(2), oid(1)});
}

TEST_CASE("a seal that races with the registration is reported by watch") {
  local_objects arena;
  auto ids = arena.missing({oid(1)});
  REQUIRE(ids.size() == 1);
  arena.insert(oid(1), value("early"));
  auto w = std::make_shared<recorder>();
  arena.watch(ids, w);
  CHECK(w->seen == std::vector<object_id>{oid(1)});
}

TEST_CASE("unwatch drops the registrations") {
  local_objects arena;
  auto w = std::make_shared<recorder>();
  auto ids = arena.missing({oid(1), oid(2)});
  arena.watch(ids, w);
  arena.unwatch(ids, w.get());
  arena.insert(oid(1), value("a"));
  CHECK(w->seen.empty());
}

TEST_CASE("the store adopts what a producer sealed, once") {
  local_objects arena;
  CHECK(arena.insert(oid(1), value("made")));
  using adoption = local_objects::adoption;
  CHECK(arena.adopt(oid(1), value("ignored")) == adoption::fresh);
  CHECK(arena.adopt(oid(1), value("again")) == adoption::repeated);
  CHECK_EQ(str(*arena.find(oid(1))), "made");
  CHECK(arena.adopt(oid(2), value("direct")) == adoption::fresh);
  CHECK_EQ(str(*arena.find(oid(2))), "direct");
  CHECK(arena.erase(oid(1)) == local_objects::erased::adopted);
  CHECK(arena.erase(oid(1)) == local_objects::erased::absent);
  CHECK(arena.insert(oid(3), value("new")));
  CHECK(arena.erase(oid(3)) == local_objects::erased::unadopted);
}

TEST_CASE("a release that overtakes the adoption frees the object for good") {
  auto arena = std::make_shared<local_objects>();
  object_table t{arena};
  arena->insert(oid(1), value("produced"));
  t.release({oid(1)});
  CHECK_FALSE(arena->contains(oid(1)));
  bool fresh = false;
  t.seal(oid(1), value("produced"), &fresh);
  CHECK(fresh);
  CHECK_FALSE(arena->contains(oid(1)));
  CHECK(t.size() == 0);
  CHECK(t.bytes() == 0);
}

TEST_CASE("a request completes when the store adopts a pre-sealed object") {
  auto arena = std::make_shared<local_objects>();
  object_table t{arena};
  bool done = false;
  auto token = t.open({oid(1), oid(2)}, 2, done);
  CHECK_FALSE(done);
  arena->insert(oid(1), value("a"));
  arena->insert(oid(2), value("b"));
  CHECK(t.seal(oid(1), value("a")).empty());
  CHECK(t.seal(oid(2), value("b")) == std::vector<uint64_t>{token});
  CHECK(t.bytes() == 2);
}

TEST_CASE("an object published final counts at once and is never adopted") {
  local_objects arena;
  CHECK_FALSE(arena.publishes_final());
  CHECK_FALSE(arena.publishes(value("abc")));
  arena.publish_final_up_to(4);
  CHECK(arena.publishes_final());
  CHECK(arena.publishes(value("abcd")));
  CHECK_FALSE(arena.publishes(value("abcde")));
  auto w = std::make_shared<recorder>();
  arena.watch(arena.missing({oid(1)}), w);
  CHECK(arena.publish(oid(1), value("abc")));
  CHECK(w->seen == std::vector<object_id>{oid(1)});
  CHECK_FALSE(arena.publish(oid(1), value("xyz")));
  CHECK_EQ(str(*arena.find(oid(1))), "abc");
  CHECK_EQ(arena.bytes(), 3u);
  // A store told of it anyway (a watch's notice) does not count it twice.
  CHECK(arena.adopt(oid(1), value("abc")) == local_objects::adoption::repeated);
  CHECK_EQ(arena.bytes(), 3u);
  arena.release(oid(1));
  CHECK_FALSE(arena.contains(oid(1)));
  CHECK_EQ(arena.bytes(), 0u);
  CHECK_EQ(arena.size(), 0u);
  // Released after its final publication: nothing waits to drop it, so a
  // re-execution's result is kept.
  CHECK(arena.publish(oid(1), value("ab")));
  CHECK_EQ(arena.bytes(), 2u);
}

TEST_CASE("a release before the final publication drops the object") {
  local_objects arena;
  arena.publish_final_up_to(100);
  arena.release(oid(1));
  auto w = std::make_shared<recorder>();
  arena.watch(arena.missing({oid(1)}), w);
  CHECK_FALSE(arena.publish(oid(1), value("late")));
  CHECK_FALSE(arena.contains(oid(1)));
  CHECK(w->seen.empty());
  CHECK_EQ(arena.size(), 0u);
  CHECK_EQ(arena.bytes(), 0u);
  // The release was used up: the next object of that ID stays.
  CHECK(arena.publish(oid(1), value("again")));
  CHECK(arena.contains(oid(1)));
}

TEST_CASE("erase withdraws a reader's copy and leaves no release behind") {
  local_objects arena;
  CHECK(arena.erase(oid(1)) == local_objects::erased::absent);
  CHECK(arena.adopt(oid(1), value("kept")) == local_objects::adoption::fresh);
  CHECK_EQ(arena.bytes(), 4u);
  CHECK(arena.erase(oid(1)) == local_objects::erased::adopted);
  CHECK_EQ(arena.bytes(), 0u);
}

TEST_CASE("concurrent producers and a watcher: every seal is heard once") {
  local_objects arena;
  constexpr uint64_t n = 2000;
  std::vector<object_id> ids;
  for (uint64_t i = 0; i < n; ++i)
    ids.push_back(oid(i));
  struct counter : seal_watch {
    std::atomic<uint64_t> count{0};
    void sealed(const object_id&) override {
      ++count;
    }
  };
  auto w = std::make_shared<counter>();
  std::thread a{[&] {
    for (uint64_t i = 0; i < n; i += 2)
      arena.insert(ids[i], value("e"));
  }};
  std::thread b{[&] {
    for (uint64_t i = 1; i < n; i += 2)
      arena.insert(ids[i], value("o"));
  }};
  auto watched = arena.missing(ids);
  arena.watch(watched, w);
  a.join();
  b.join();
  // What was sealed before `missing` is not watched; every watched ID is
  // heard exactly once, from its seal or from the racing registration.
  CHECK(w->count.load() == watched.size());
  CHECK(arena.size() == n);
  CHECK(arena.missing(ids).empty());
}

TEST_CASE("sealed_ids lists the sealed objects, not the watched ones") {
  local_objects arena;
  CHECK(arena.sealed_ids().empty());
  arena.insert(oid(1), value("a"));
  arena.insert(oid(2), value("b"));
  auto w = std::make_shared<recorder>();
  arena.watch({oid(3)}, w);
  auto ids = arena.sealed_ids();
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<object_id>{oid(1), oid(2)});
  arena.release(oid(1));
  CHECK(arena.sealed_ids() == std::vector<object_id>{oid(2)});
  arena.unwatch({oid(3)}, w.get());
}
