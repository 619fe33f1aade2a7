// The object store with a shared-memory arena: large objects live in it,
// clients attached to it read in place (pinned) and write into it.

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "common/error.hpp"
#include "object_store/object_store.hpp"
#include "proto/register_types.hpp"

using namespace cafray;
using namespace std::chrono_literals;

namespace {

constexpr auto max_wait = std::chrono::seconds(10);
const auto forever = caf::timespan::max();
constexpr uint64_t threshold = 16;

object_id oid(uint64_t n) {
  return object_id{task_id{9, n}, 1};
}

object_payload value(std::string bytes) {
  object_payload result;
  result.data = blob{blob::buffer(bytes.begin(), bytes.end())};
  return result;
}

struct arena_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  std::shared_ptr<shm_arena> arena;
  object_store_actor store;
  std::vector<caf::actor> clients;

  arena_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    auto created = shm_arena::create(1 << 20);
    REQUIRE(created);
    arena = *created;
    store = spawn_object_store(*sys, node_id{1, 1}, gcs_router{}, threshold,
                               nullptr, false, nullptr, arena);
  }

  ~arena_fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    for (auto& c : clients)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    store = nullptr;
    clients.clear();
    self.reset();
    sys.reset();
  }

  /// An actor standing for a client process.
  caf::actor spawn_client() {
    auto c = sys->spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](int) {}};
    });
    clients.push_back(c);
    return c;
  }

  uint64_t attach(const caf::actor& client) {
    uint64_t result = 0;
    (*self)
      ->request(store, max_wait, attach_atom_v, client)
      .receive(
        [&](arena_info& info) {
          CHECK_EQ(info.name, arena->name());
          CHECK_EQ(info.capacity, arena->capacity());
          result = info.client;
        },
        [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  arena_objects get(uint64_t client, std::vector<object_id> ids) {
    arena_objects result;
    (*self)
      ->request(store, max_wait, get_atom_v, client, std::move(ids), forever)
      .receive([&](arena_objects& x) { result = std::move(x); },
               [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  caf::expected<uint64_t> allocate(uint64_t client, const object_id& id,
                                   uint64_t size) {
    caf::expected<uint64_t> result = make_error(errc::runtime_error, "none");
    (*self)
      ->request(store, max_wait, allocate_atom_v, client, id, size)
      .receive([&](uint64_t x) { result = x; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  store_stats stats() {
    store_stats result;
    (*self)
      ->request(store, max_wait, stats_atom_v)
      .receive([&](store_stats& x) { result = x; },
               [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }
};

} // namespace

TEST_CASE_FIXTURE(arena_fixture, "a large value put by message moves into "
                                 "the arena; a small one does not") {
  (*self)->send(store, put_atom_v, oid(1), value(std::string(1000, 'x')));
  (*self)->send(store, put_atom_v, oid(2), value("small"));
  auto s = stats();
  CHECK_EQ(s.objects, 2u);
  CHECK_EQ(s.arena_capacity, 1u << 20);
  CHECK_EQ(s.arena_used, 1024u);  // 1000 bytes in 64-byte units
  CHECK_EQ(s.arena_pins, 0u);
}

TEST_CASE_FIXTURE(arena_fixture, "an attached client gets arena objects as "
                                 "their place, pinned until it unpins") {
  (*self)->send(store, put_atom_v, oid(1), value(std::string(1000, 'x')));
  (*self)->send(store, put_atom_v, oid(2), value("small"));
  auto c = attach(spawn_client());
  CHECK_EQ(c, 1u);
  auto x = get(c, {oid(1), oid(2)});
  REQUIRE_EQ(x.payloads.size(), 2u);
  REQUIRE_EQ(x.offsets.size(), 2u);
  REQUIRE(x.offsets[0] != arena_objects::no_offset);
  CHECK_EQ(x.sizes[0], 1000u);
  CHECK(x.payloads[0].data.empty());
  CHECK_EQ(std::string(arena->at(x.offsets[0]), 1000), std::string(1000, 'x'));
  CHECK_EQ(x.offsets[1], arena_objects::no_offset);
  CHECK_EQ(std::string(x.payloads[1].data.data(), 5), "small");
  CHECK_EQ(stats().arena_pins, 1u);
  // The same object again: the same place, a second pin.
  auto again = get(c, {oid(1)});
  CHECK_EQ(again.offsets[0], x.offsets[0]);
  CHECK_EQ(stats().arena_pins, 2u);
  (*self)->send(store, unpin_atom_v, c, std::vector<object_id>{oid(1)});
  (*self)->send(store, unpin_atom_v, c, std::vector<object_id>{oid(1)});
  CHECK_EQ(stats().arena_pins, 0u);
}

TEST_CASE_FIXTURE(arena_fixture, "a released object keeps its region while "
                                 "pinned and frees it with the last pin") {
  (*self)->send(store, put_atom_v, oid(1), value(std::string(1000, 'x')));
  auto c = attach(spawn_client());
  auto x = get(c, {oid(1)});
  REQUIRE(x.offsets[0] != arena_objects::no_offset);
  (*self)->send(store, release_atom_v, std::vector<object_id>{oid(1)});
  auto s = stats();
  CHECK_EQ(s.objects, 0u);
  CHECK_EQ(s.arena_used, 1024u);
  (*self)->send(store, unpin_atom_v, c, std::vector<object_id>{oid(1)});
  s = stats();
  CHECK_EQ(s.arena_pins, 0u);
  CHECK_EQ(s.arena_used, 0u);
}

TEST_CASE_FIXTURE(arena_fixture, "a client's pins go when it dies") {
  (*self)->send(store, put_atom_v, oid(1), value(std::string(1000, 'x')));
  auto client = spawn_client();
  auto c = attach(client);
  get(c, {oid(1)});
  (*self)->send(store, release_atom_v, std::vector<object_id>{oid(1)});
  CHECK_EQ(stats().arena_pins, 1u);
  caf::anon_send_exit(client, caf::exit_reason::kill);
  store_stats s;
  for (int i = 0; i < 1000; ++i) {
    s = stats();
    if (s.arena_pins == 0)
      break;
    std::this_thread::sleep_for(1ms);
  }
  CHECK_EQ(s.arena_pins, 0u);
  CHECK_EQ(s.arena_used, 0u);
}

TEST_CASE_FIXTURE(arena_fixture, "a client writes an object into a region "
                                 "and seals it: readers find it in place") {
  auto c = attach(spawn_client());
  auto offset = allocate(c, oid(5), 100);
  REQUIRE(offset);
  std::memset(arena->at(*offset), 'w', 100);
  (*self)->send(store, seal_atom_v, c, oid(5), *offset, uint64_t{100});
  // A reader in the store's own process: the bytes where they were written.
  std::vector<object_payload> plain;
  (*self)
    ->request(store, max_wait, get_atom_v, std::vector<object_id>{oid(5)},
              forever)
    .receive([&](std::vector<object_payload>& xs) { plain = std::move(xs); },
             [&](caf::error& err) { FAIL(render(err)); });
  REQUIRE_EQ(plain.size(), 1u);
  CHECK_EQ(plain[0].data.data(), arena->at(*offset));
  CHECK_EQ(plain[0].data.size(), 100u);
  // Another client: the same offset.
  auto d = attach(spawn_client());
  auto x = get(d, {oid(5)});
  CHECK_EQ(x.offsets[0], *offset);
  auto s = stats();
  CHECK_EQ(s.arena_pins, 2u);  // the writer's copy and the reader's
  CHECK_EQ(s.arena_used, 128u);
  CHECK_EQ(s.bytes, 100u);
}

TEST_CASE_FIXTURE(arena_fixture, "an object larger than the arena, or than "
                                 "what is free, fails with object_too_large") {
  auto c = attach(spawn_client());
  auto big = allocate(c, oid(1), (1 << 20) + 1);
  REQUIRE_FALSE(big);
  CHECK_EQ(big.error().category(), error_category);
  CHECK_EQ(big.error().code(), static_cast<uint8_t>(errc::object_too_large));
  auto first = allocate(c, oid(2), 600 << 10);
  REQUIRE(first);
  auto second = allocate(c, oid(3), 600 << 10);
  REQUIRE_FALSE(second);
  CHECK_EQ(second.error().code(),
           static_cast<uint8_t>(errc::object_too_large));
}

TEST_CASE_FIXTURE(arena_fixture, "a client that dies before sealing frees "
                                 "its region") {
  auto client = spawn_client();
  auto c = attach(client);
  REQUIRE(allocate(c, oid(1), 4096));
  CHECK_EQ(stats().arena_used, 4096u);
  caf::anon_send_exit(client, caf::exit_reason::kill);
  store_stats s;
  for (int i = 0; i < 1000; ++i) {
    s = stats();
    if (s.arena_used == 0)
      break;
    std::this_thread::sleep_for(1ms);
  }
  CHECK_EQ(s.arena_used, 0u);
}

TEST_CASE_FIXTURE(arena_fixture, "a store without an arena refuses to "
                                 "attach") {
  auto plain = spawn_object_store(*sys, node_id{1, 2}, gcs_router{}, 0);
  bool refused = false;
  (*self)
    ->request(plain, max_wait, attach_atom_v, spawn_client())
    .receive([&](arena_info&) {},
             [&](caf::error& err) {
               refused = err.code()
                         == static_cast<uint8_t>(errc::not_found);
             });
  CHECK(refused);
  caf::anon_send_exit(plain, caf::exit_reason::user_shutdown);
}
