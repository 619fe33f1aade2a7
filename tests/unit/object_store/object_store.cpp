// The object store actor in one process, driven by a scoped_actor.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "object_store/object_store.hpp"
#include "proto/register_types.hpp"

using namespace cafray;
using namespace std::chrono_literals;

namespace {

constexpr auto max_wait = std::chrono::seconds(10);
const auto forever = caf::timespan::max();

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

/// Forwards every ready notification to `target` (a scoped_actor).
object_listener_actor::behavior_type forwarding_listener(caf::actor target) {
  return {
    [=](ready_atom, const object_id& id, const object_payload& payload) {
      caf::anon_send(target, ready_atom_v, id, payload);
    },
  };
}

struct store_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  object_store_actor store;
  std::vector<caf::actor> others;

  store_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    store = spawn_object_store(*sys, node_id{1, 1}, gcs_router{}, 0);
  }

  ~store_fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    for (auto& a : others)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    // Handles keep actors alive; drop them before the system waits.
    store = nullptr;
    others.clear();
    self.reset();
    sys.reset();
  }

  object_listener_actor spawn_listener() {
    auto listener = sys->spawn(forwarding_listener,
                               caf::actor_cast<caf::actor>(*self));
    others.push_back(caf::actor_cast<caf::actor>(listener));
    return listener;
  }

  void put(const object_id& id, object_payload payload) {
    caf::anon_send(store, put_atom_v, id, std::move(payload));
  }

  caf::expected<std::vector<object_payload>>
  get(std::vector<object_id> ids, caf::timespan timeout) {
    caf::expected<std::vector<object_payload>> result
      = make_error(errc::runtime_error, "no answer");
    (*self)
      ->request(store, max_wait, get_atom_v, std::move(ids), timeout)
      .receive([&](std::vector<object_payload>& xs) { result = std::move(xs); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<std::vector<uint8_t>>
  wait(std::vector<object_id> ids, uint64_t k, caf::timespan timeout) {
    caf::expected<std::vector<uint8_t>> result
      = make_error(errc::runtime_error, "no answer");
    (*self)
      ->request(store, max_wait, wait_atom_v, std::move(ids), k, timeout)
      .receive([&](std::vector<uint8_t>& xs) { result = std::move(xs); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  store_stats stats() {
    store_stats result{~0ULL, ~0ULL, ~0ULL};
    (*self)
      ->request(store, max_wait, stats_atom_v)
      .receive([&](store_stats& x) { result = x; },
               [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  /// The next ready notification forwarded by a listener.
  std::pair<object_id, object_payload> next_ready() {
    std::pair<object_id, object_payload> result;
    bool got = false;
    (*self)->receive(
      [&](ready_atom, object_id& id, object_payload& payload) {
        result = {id, std::move(payload)};
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE(got);
    return result;
  }
};

} // namespace

TEST_CASE_FIXTURE(store_fixture, "put then get returns the payloads in input "
                                 "order") {
  put(oid(1), value("one"));
  put(oid(2), value("two"));
  auto xs = get({oid(2), oid(1), oid(2)}, forever);
  REQUIRE(xs);
  REQUIRE_EQ(xs->size(), 3u);
  CHECK_EQ(str((*xs)[0]), "two");
  CHECK_EQ(str((*xs)[1]), "one");
  CHECK_EQ(str((*xs)[2]), "two");
}

TEST_CASE_FIXTURE(store_fixture, "a batch put seals every object and "
                                 "completes waiting gets") {
  auto pending = (*self)->request(store, max_wait, get_atom_v,
                                  std::vector<object_id>{oid(3), oid(1)},
                                  forever);
  caf::anon_send(store, put_atom_v,
                 std::vector<object_id>{oid(1), oid(2), oid(3)},
                 std::vector<object_payload>{value("a"), value("bb"),
                                             value("ccc")});
  std::vector<object_payload> xs;
  pending.receive([&](std::vector<object_payload>& ys) { xs = std::move(ys); },
                  [&](caf::error& err) { FAIL(render(err)); });
  REQUIRE_EQ(xs.size(), 2u);
  CHECK_EQ(str(xs[0]), "ccc");
  CHECK_EQ(str(xs[1]), "a");
  auto s = stats();
  CHECK_EQ(s.objects, 3u);
  CHECK_EQ(s.bytes, 6u);
  CHECK_EQ(s.waiting_gets, 0u);
}

TEST_CASE_FIXTURE(store_fixture, "a failed payload is returned as stored") {
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(errc::task_failed);
  failed.error.message = "boom";
  put(oid(1), failed);
  auto xs = get({oid(1)}, forever);
  REQUIRE(xs);
  REQUIRE_EQ(xs->size(), 1u);
  CHECK(xs->front().failed());
  CHECK_EQ(xs->front().error_code, static_cast<uint8_t>(errc::task_failed));
  CHECK_EQ(xs->front().error.message, "boom");
}

TEST_CASE_FIXTURE(store_fixture, "a get before the put completes when the put "
                                 "arrives") {
  auto pending = (*self)->request(store, max_wait, get_atom_v,
                                  std::vector<object_id>{oid(1), oid(2)},
                                  forever);
  put(oid(2), value("two"));
  // The get is waiting (and counted) until its last object arrives.
  CHECK_EQ(stats().waiting_gets, 1u);
  put(oid(1), value("one"));
  std::vector<object_payload> xs;
  pending.receive([&](std::vector<object_payload>& ys) { xs = std::move(ys); },
                  [&](caf::error& err) { FAIL(render(err)); });
  REQUIRE_EQ(xs.size(), 2u);
  CHECK_EQ(str(xs[0]), "one");
  CHECK_EQ(str(xs[1]), "two");
  CHECK_EQ(stats().waiting_gets, 0u);
}

TEST_CASE_FIXTURE(store_fixture, "a get that times out fails with "
                                 "errc::timeout") {
  put(oid(1), value("one"));
  auto xs = get({oid(1), oid(2)}, 1ms);
  REQUIRE_FALSE(xs);
  CHECK_EQ(code_of(xs.error()), errc::timeout);
  CHECK_EQ(render(xs.error()),
           "timeout: timed out (objects not ready in time)");
  CHECK_EQ(stats().waiting_gets, 0u);
  // The object that came late is still delivered to later gets.
  put(oid(2), value("two"));
  auto ys = get({oid(2)}, 1ms);
  REQUIRE(ys);
  CHECK_EQ(str(ys->front()), "two");
}

TEST_CASE_FIXTURE(store_fixture, "wait for k of n with a timeout returns the "
                                 "exact flags") {
  put(oid(1), value("a"));
  put(oid(3), value("c"));
  SUBCASE("k reached at once") {
    auto flags = wait({oid(1), oid(2), oid(3), oid(4)}, 2, forever);
    REQUIRE(flags);
    CHECK(*flags == std::vector<uint8_t>{1, 0, 1, 0});
  }
  SUBCASE("k not reached: the timeout answers with what is ready") {
    auto flags = wait({oid(1), oid(2), oid(3), oid(4)}, 3, 1ms);
    REQUIRE(flags);
    CHECK(*flags == std::vector<uint8_t>{1, 0, 1, 0});
  }
  SUBCASE("timeout zero polls") {
    auto flags = wait({oid(4), oid(3)}, 2, caf::timespan{0});
    REQUIRE(flags);
    CHECK(*flags == std::vector<uint8_t>{0, 1});
  }
  SUBCASE("k reached later by a put") {
    auto pending = (*self)->request(
      store, max_wait, wait_atom_v,
      std::vector<object_id>{oid(1), oid(2), oid(3), oid(4)}, uint64_t{3},
      forever);
    put(oid(4), value("d"));
    std::vector<uint8_t> flags;
    pending.receive([&](std::vector<uint8_t>& xs) { flags = std::move(xs); },
                    [&](caf::error& err) { FAIL(render(err)); });
    CHECK(flags == std::vector<uint8_t>{1, 0, 1, 1});
  }
  CHECK_EQ(stats().waiting_gets, 0u);
}

TEST_CASE_FIXTURE(store_fixture, "subscribe before the put notifies the "
                                 "listener once it arrives") {
  auto listener = spawn_listener();
  caf::anon_send(store, subscribe_atom_v, oid(5), listener);
  put(oid(5), value("five"));
  auto [id, payload] = next_ready();
  CHECK(id == oid(5));
  CHECK_EQ(str(payload), "five");
}

TEST_CASE_FIXTURE(store_fixture, "subscribe after the put notifies the "
                                 "listener at once") {
  auto listener = spawn_listener();
  put(oid(6), value("six"));
  caf::anon_send(store, subscribe_atom_v, oid(6), listener);
  auto [id, payload] = next_ready();
  CHECK(id == oid(6));
  CHECK_EQ(str(payload), "six");
}

TEST_CASE_FIXTURE(store_fixture, "two listeners of one object each get one "
                                 "notification") {
  auto a = spawn_listener();
  auto b = spawn_listener();
  caf::anon_send(store, subscribe_atom_v, oid(1), a);
  caf::anon_send(store, subscribe_atom_v, oid(1), b);
  put(oid(1), value("x"));
  put(oid(1), value("ignored second put"));
  CHECK_EQ(str(next_ready().second), "x");
  CHECK_EQ(str(next_ready().second), "x");
  // A later subscription proves the ignored put changed nothing.
  caf::anon_send(store, subscribe_atom_v, oid(1), a);
  CHECK_EQ(str(next_ready().second), "x");
}

TEST_CASE_FIXTURE(store_fixture, "stats count objects, bytes and waiting "
                                 "requests") {
  auto s0 = stats();
  CHECK_EQ(s0.objects, 0u);
  CHECK_EQ(s0.bytes, 0u);
  CHECK_EQ(s0.waiting_gets, 0u);
  put(oid(1), value("1234"));
  put(oid(2), value("123456"));
  put(oid(2), value("ignored"));
  auto s1 = stats();
  CHECK_EQ(s1.objects, 2u);
  CHECK_EQ(s1.bytes, 10u);
  caf::anon_send(store, release_atom_v, std::vector<object_id>{oid(1)});
  auto s2 = stats();
  CHECK_EQ(s2.objects, 1u);
  CHECK_EQ(s2.bytes, 6u);
}

TEST_CASE_FIXTURE(store_fixture, "embedded: requests complete on objects "
                                 "producers publish final") {
  auto arena = std::make_shared<local_objects>();
  auto alone = spawn_object_store(*sys, node_id{1, 2}, gcs_router{}, 8, arena);
  others.push_back(caf::actor_cast<caf::actor>(alone));
  REQUIRE(arena->publishes_final());
  CHECK(arena->publishes(value("12345678")));
  CHECK_FALSE(arena->publishes(value("123456789")));
  auto pending = (*self)->request(alone, max_wait, get_atom_v,
                                  std::vector<object_id>{oid(2), oid(1)},
                                  forever);
  auto listener = spawn_listener();
  caf::anon_send(alone, subscribe_atom_v, oid(2), listener);
  // The store has answered nothing yet, so it has seen both requests
  // before the producer publishes.
  store_stats before{};
  (*self)
    ->request(alone, max_wait, stats_atom_v)
    .receive([&](store_stats& x) { before = x; },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(before.waiting_gets, 2u);
  CHECK(arena->publish(oid(1), value("one")));
  CHECK(arena->publish(oid(2), value("two")));
  std::vector<object_payload> xs;
  pending.receive([&](std::vector<object_payload>& ys) { xs = std::move(ys); },
                  [&](caf::error& err) { FAIL(render(err)); });
  REQUIRE_EQ(xs.size(), 2u);
  CHECK_EQ(str(xs[0]), "two");
  CHECK_EQ(str(xs[1]), "one");
  auto [id, payload] = next_ready();
  CHECK_EQ(id, oid(2));
  CHECK_EQ(str(payload), "two");
  store_stats after{};
  (*self)
    ->request(alone, max_wait, stats_atom_v)
    .receive([&](store_stats& x) { after = x; },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(after.objects, 2u);
  CHECK_EQ(after.bytes, 6u);
  CHECK_EQ(after.waiting_gets, 0u);
  // The owner's release frees them; no adoption ever brings them back.
  caf::anon_send(alone, release_atom_v, std::vector<object_id>{oid(1), oid(2)});
  (*self)
    ->request(alone, max_wait, stats_atom_v)
    .receive([&](store_stats& x) { after = x; },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(after.objects, 0u);
  CHECK_EQ(after.bytes, 0u);
}
