// Every plain struct of the type-ID block survives CAF's binary serializer,
// alone and inside a whole caf::message, bit for bit.

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "common/error.hpp"
#include "proto/register_types.hpp"

using namespace cafray;

namespace {

caf::actor_system* current_system = nullptr;

caf::actor_system& test_system() {
  REQUIRE(current_system != nullptr);
  return *current_system;
}

/// One actor system per test (deserializing a message looks its element
/// types up in the system). Not a static: CAF 0.17.6 crashes destroying an
/// actor system during static destruction.
struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  system_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    current_system = sys.get();
  }

  ~system_fixture() {
    current_system = nullptr;
    sys.reset();
  }
};

template <class T>
std::vector<char> serialize(const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{test_system(), buf};
  auto err = sink(const_cast<T&>(x));
  REQUIRE_MESSAGE(!err, test_system().render(err));
  return buf;
}

template <class T>
T round_trip(const T& x) {
  auto buf = serialize(x);
  T y;
  caf::binary_deserializer source{test_system(), buf};
  auto err = source(y);
  REQUIRE_MESSAGE(!err, test_system().render(err));
  CHECK_EQ(source.remaining(), 0u);
  // The copy serializes to the very same bytes.
  CHECK(serialize(y) == buf);
  return y;
}

blob make_blob(std::string bytes) {
  return blob{blob::buffer(bytes.begin(), bytes.end())};
}

std::string str(const blob& x) {
  return std::string(x.data() ? x.data() : "", x.size());
}

error_record sample_error() {
  error_record x;
  x.code = static_cast<uint8_t>(errc::task_failed);
  x.task = task_id{0x0102030405060708ULL, 0xfffffffffffffffeULL};
  x.function = "ns::divide";
  x.type_name = "std::domain_error";
  x.message = "division by zero";
  x.time_ns = -1;
  return x;
}

task_spec sample_spec() {
  task_spec x;
  x.id = task_id{1, 2};
  x.job = job_id{3, 4};
  x.kind = static_cast<uint8_t>(task_kind::actor_call);
  x.function = "Counter::add";
  x.signature = 0xdeadbeefcafef00dULL;
  task_arg by_value;
  by_value.kind = static_cast<uint8_t>(arg_kind::value);
  by_value.value = make_blob(std::string{"\0\x01\xff value", 10});
  task_arg by_ref;
  by_ref.kind = static_cast<uint8_t>(arg_kind::resolved);
  by_ref.ref = object_id{task_id{5, 6}, 7 | object_id::put_flag};
  x.args = {by_value, by_ref, task_arg{}};
  x.resources = {{"CPU", 1500}, {"GPU", 250}, {"custom", -1}};
  x.max_retries = -1;
  x.name = "add one";
  x.parent = task_id{8, 9};
  x.actor = actor_id{10, 11};
  x.seq = 0xffffffffffffffffULL;
  x.num_returns = 3;
  return x;
}

void check_sample_spec(const task_spec& y) {
  CHECK(y.id == (task_id{1, 2}));
  CHECK(y.job == (job_id{3, 4}));
  CHECK_EQ(y.kind, static_cast<uint8_t>(task_kind::actor_call));
  CHECK_EQ(y.function, "Counter::add");
  CHECK_EQ(y.signature, 0xdeadbeefcafef00dULL);
  REQUIRE_EQ(y.args.size(), 3u);
  CHECK_EQ(y.args[0].kind, static_cast<uint8_t>(arg_kind::value));
  CHECK(y.args[0].ref.nil());
  CHECK_EQ(str(y.args[0].value), std::string{"\0\x01\xff value", 10});
  CHECK_EQ(y.args[1].kind, static_cast<uint8_t>(arg_kind::resolved));
  CHECK(y.args[1].ref == (object_id{task_id{5, 6}, 7 | object_id::put_flag}));
  CHECK(y.args[1].value.empty());
  CHECK_EQ(y.args[2].kind, 0);
  CHECK(y.args[2].ref.nil());
  CHECK(y.args[2].value.empty());
  CHECK(y.resources
        == resource_map{{"CPU", 1500}, {"GPU", 250}, {"custom", -1}});
  CHECK_EQ(y.max_retries, -1);
  CHECK_EQ(y.name, "add one");
  CHECK(y.parent == (task_id{8, 9}));
  CHECK(y.actor == (actor_id{10, 11}));
  CHECK_EQ(y.seq, 0xffffffffffffffffULL);
  CHECK_EQ(y.num_returns, 3u);
  CHECK(y.return_id(2) == (object_id{task_id{1, 2}, 2}));
}

void check_sample_error(const error_record& y) {
  CHECK_EQ(y.code, static_cast<uint8_t>(errc::task_failed));
  CHECK(y.task == (task_id{0x0102030405060708ULL, 0xfffffffffffffffeULL}));
  CHECK_EQ(y.function, "ns::divide");
  CHECK_EQ(y.type_name, "std::domain_error");
  CHECK_EQ(y.message, "division by zero");
  CHECK_EQ(y.time_ns, -1);
}

} // namespace

TEST_CASE("the type-ID block holds 61 plain types and 12 actor handles") {
  // When this fails, a type was added to register_types.hpp: give it a round
  // trip below (the chain's are in gcs_chain.cpp) and update the count.
  CHECK_EQ(caf::id_block::cafray::end - caf::id_block::cafray::begin, 73);
  CHECK_EQ(caf::type_id<arena_objects>::value,
           caf::id_block::cafray::end - 6);
  CHECK_EQ(caf::type_id<job_id>::value, caf::id_block::cafray::begin);
  CHECK_EQ(caf::type_id<std::vector<uint8_t>>::value,
           caf::id_block::cafray::begin + 21);
  CHECK_EQ(caf::type_id<std::vector<kv_entry>>::value,
           caf::id_block::cafray::begin + 24);
  CHECK_EQ(caf::type_id<scheduler_actor>::value,
           caf::id_block::cafray::begin + 35);
  CHECK_EQ(caf::type_id<wire::chain_write_batch>::value,
           caf::id_block::cafray::begin + 36);
  CHECK_EQ(caf::type_id<gcs_chain_client_actor>::value,
           caf::id_block::cafray::begin + 58);
  CHECK_EQ(caf::type_id<store_peer>::value, caf::id_block::cafray::begin + 59);
  CHECK_EQ(caf::type_id<cluster_actor>::value, caf::id_block::cafray::end - 5);
  CHECK_EQ(caf::type_id<actor_location>::value,
           caf::id_block::cafray::end - 4);
  CHECK_EQ(caf::type_id<drain_report>::value, caf::id_block::cafray::end - 3);
  CHECK_EQ(caf::type_id<worker_lease>::value, caf::id_block::cafray::end - 2);
  CHECK_EQ(caf::type_id<std::vector<worker_lease>>::value,
           caf::id_block::cafray::end - 1);
  CHECK_EQ(std::string{caf::type_name<task_spec>::value},
           "cafray::task_spec");
}

TEST_CASE_FIXTURE(system_fixture,
                  "the four basic ids round trip, including all-ones and nil") {
  CHECK(round_trip(job_id{1, 2}) == (job_id{1, 2}));
  CHECK(round_trip(task_id{~0ULL, ~0ULL}) == (task_id{~0ULL, ~0ULL}));
  CHECK(round_trip(actor_id{0x8000000000000000ULL, 1})
        == (actor_id{0x8000000000000000ULL, 1}));
  CHECK(round_trip(node_id{}).nil());
  CHECK_EQ(serialize(node_id{1, 2}).size(), 16u);
}

TEST_CASE_FIXTURE(system_fixture,
                  "object_id round trips with and without the put flag") {
  auto x = object_id{task_id{11, 12}, 1};
  auto y = round_trip(x);
  CHECK(y == x);
  CHECK_FALSE(y.is_put());
  auto p = object_id{task_id{11, 12}, 5 | object_id::put_flag};
  auto q = round_trip(p);
  CHECK(q == p);
  CHECK(q.is_put());
  CHECK_EQ(q.index, 0x80000005u);
  CHECK_EQ(serialize(x).size(), 20u);
}

TEST_CASE_FIXTURE(system_fixture,
                  "blob round trips: empty, binary bytes, and 1 MiB") {
  auto empty = round_trip(blob{});
  CHECK(empty.empty());
  CHECK_EQ(empty.size(), 0u);
  CHECK(empty == blob{});
  auto zero_len = round_trip(blob{blob::buffer{}});
  CHECK(zero_len.empty());
  auto bytes = round_trip(make_blob(std::string{"\0\x7f\x80\xff", 4}));
  CHECK_EQ(str(bytes), std::string{"\0\x7f\x80\xff", 4});
  blob::buffer big(1024 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 2654435761u) >> 13);
  auto original = blob{big};
  auto copy = round_trip(original);
  REQUIRE_EQ(copy.size(), 1024u * 1024u);
  CHECK(std::memcmp(copy.data(), big.data(), big.size()) == 0);
  CHECK(copy == original);
  // A decoded blob owns fresh bytes; it does not alias the original.
  CHECK(copy.data() != original.data());
}

TEST_CASE_FIXTURE(system_fixture,
                  "a blob travels as CAF writes a std::vector<char>") {
  std::vector<char> bytes(70000);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(i * 7 + 3);
  auto expected = serialize(bytes);
  CHECK(serialize(blob{bytes}) == expected);
  // Bytes the blob does not own go on the wire the same way.
  auto owner = std::make_shared<std::vector<char>>(bytes);
  blob borrowed{owner->data(), owner->size(), owner};
  CHECK(serialize(borrowed) == expected);
  CHECK(serialize(blob{}) == serialize(std::vector<char>{}));
}

TEST_CASE_FIXTURE(system_fixture,
                  "a blob of bytes it does not own keeps them alive") {
  auto owner = std::make_shared<std::string>("borrowed bytes");
  std::weak_ptr<std::string> alive = owner;
  blob x{owner->data() + 9, 5, owner};
  owner.reset();
  CHECK_FALSE(alive.expired());
  CHECK_EQ(str(x), "bytes");
  CHECK_EQ(x.keepalive().get(), static_cast<const void*>(alive.lock().get()));
  auto copy = round_trip(x);
  CHECK_EQ(str(copy), "bytes");
  CHECK(copy == x);
  CHECK(copy.data() != x.data());
  x = blob{};
  CHECK(alive.expired());
  CHECK_EQ(str(copy), "bytes");
}

TEST_CASE_FIXTURE(system_fixture, "error_record round trips") {
  check_sample_error(round_trip(sample_error()));
  auto empty = round_trip(error_record{});
  CHECK_EQ(empty.code, 0);
  CHECK(empty.task.nil());
  CHECK(empty.function.empty());
  CHECK_EQ(empty.time_ns, 0);
}

TEST_CASE_FIXTURE(system_fixture,
                  "object_payload round trips with a value and as a failure") {
  object_payload ok;
  ok.data = make_blob("the value");
  auto y = round_trip(ok);
  CHECK_FALSE(y.failed());
  CHECK_EQ(y.error_code, 0);
  CHECK_EQ(str(y.data), "the value");
  CHECK_EQ(y.error.code, 0);
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(errc::task_failed);
  failed.error = sample_error();
  auto z = round_trip(failed);
  CHECK(z.failed());
  CHECK_EQ(z.error_code, static_cast<uint8_t>(errc::task_failed));
  CHECK(z.data.empty());
  check_sample_error(z.error);
}

TEST_CASE_FIXTURE(system_fixture,
                  "task_arg round trips by value and by reference") {
  task_arg v;
  v.kind = static_cast<uint8_t>(arg_kind::value);
  v.value = make_blob("inline");
  auto v2 = round_trip(v);
  CHECK_EQ(v2.kind, 0);
  CHECK(v2.ref.nil());
  CHECK_EQ(str(v2.value), "inline");
  task_arg r;
  r.kind = static_cast<uint8_t>(arg_kind::resolved);
  r.ref = object_id{task_id{3, 4}, 2};
  auto r2 = round_trip(r);
  CHECK_EQ(r2.kind, 1);
  CHECK(r2.ref == (object_id{task_id{3, 4}, 2}));
  CHECK(r2.value.empty());
}

TEST_CASE_FIXTURE(system_fixture,
                  "task_spec round trips with args, resources and actor "
                  "fields") {
  check_sample_spec(round_trip(sample_spec()));
  auto defaults = round_trip(task_spec{});
  CHECK(defaults.id.nil());
  CHECK(defaults.args.empty());
  CHECK(defaults.resources.empty());
  CHECK_EQ(defaults.max_retries, 3);
  CHECK_EQ(defaults.num_returns, 1u);
  CHECK_EQ(defaults.seq, 0u);
}

TEST_CASE_FIXTURE(system_fixture, "task_assignment round trips") {
  task_assignment x;
  x.spec = sample_spec();
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(errc::task_failed);
  failed.error = sample_error();
  x.resolved = {object_payload{}, failed, object_payload{}};
  x.resolved[0].data = make_blob("arg0");
  auto y = round_trip(x);
  check_sample_spec(y.spec);
  REQUIRE_EQ(y.resolved.size(), 3u);
  CHECK_EQ(str(y.resolved[0].data), "arg0");
  CHECK(y.resolved[1].failed());
  check_sample_error(y.resolved[1].error);
  CHECK(y.resolved[2].data.empty());
  CHECK(round_trip(task_assignment{}).resolved.empty());
}

TEST_CASE_FIXTURE(system_fixture, "task_record round trips") {
  task_record x;
  x.spec = sample_spec();
  x.state = static_cast<uint8_t>(task_state::spilled);
  x.node = node_id{21, 22};
  x.updated_ns = 1234567890123456789LL;
  auto y = round_trip(x);
  check_sample_spec(y.spec);
  CHECK_EQ(y.state, static_cast<uint8_t>(task_state::spilled));
  CHECK(y.node == (node_id{21, 22}));
  CHECK_EQ(y.updated_ns, 1234567890123456789LL);
}

TEST_CASE_FIXTURE(system_fixture,
                  "object_record round trips with several locations") {
  object_record x;
  x.id = object_id{task_id{1, 1}, 3};
  x.size = 1ULL << 40;
  x.locations = {node_id{1, 0}, node_id{0, 1}, node_id{9, 9}};
  x.owner = job_id{7, 7};
  auto y = round_trip(x);
  CHECK(y.id == x.id);
  CHECK_EQ(y.size, 1ULL << 40);
  CHECK(y.locations
        == std::vector<node_id>{node_id{1, 0}, node_id{0, 1}, node_id{9, 9}});
  CHECK(y.owner == (job_id{7, 7}));
}

TEST_CASE_FIXTURE(system_fixture,
                  "node_record round trips, dead node included") {
  node_record x;
  x.id = node_id{5, 6};
  x.address = "10.0.0.7:4000";
  x.total = {{"CPU", 8000}, {"memory", 1LL << 34}};
  x.available = {{"CPU", 0}, {"memory", 1}};
  x.alive = false;
  x.updated_ns = 99;
  auto y = round_trip(x);
  CHECK_FALSE(y.draining);
  x.alive = true;
  x.draining = true;
  CHECK(round_trip(x).draining);
  CHECK(round_trip(x).alive);
  x.alive = false;
  x.draining = false;
  CHECK(y.id == (node_id{5, 6}));
  CHECK_EQ(y.address, "10.0.0.7:4000");
  CHECK(y.total == resource_map{{"CPU", 8000}, {"memory", 1LL << 34}});
  CHECK(y.available == resource_map{{"CPU", 0}, {"memory", 1}});
  CHECK_FALSE(y.alive);
  CHECK_EQ(y.updated_ns, 99);
  CHECK(round_trip(node_record{}).alive);
}

TEST_CASE_FIXTURE(system_fixture, "drain_report round trips") {
  drain_report x;
  x.handed_back = 7;
  x.redirected = 1ULL << 40;
  x.finished = 2;
  x.retried = 3;
  x.failed = ~0ULL;
  auto y = round_trip(x);
  CHECK_EQ(y.handed_back, 7u);
  CHECK_EQ(y.redirected, 1ULL << 40);
  CHECK_EQ(y.finished, 2u);
  CHECK_EQ(y.retried, 3u);
  CHECK_EQ(y.failed, ~0ULL);
}

TEST_CASE_FIXTURE(system_fixture, "worker_lease round trips") {
  worker_lease x{7, ~0ULL - 5, "[::1]:40123"};
  auto y = round_trip(x);
  CHECK_EQ(y.worker, 7u);
  CHECK_EQ(y.token, ~0ULL - 5);
  CHECK_EQ(y.address, "[::1]:40123");
  auto ys = round_trip(std::vector<worker_lease>{x, worker_lease{}});
  REQUIRE_EQ(ys.size(), 2u);
  CHECK_EQ(ys[0].address, "[::1]:40123");
  CHECK_EQ(ys[1].token, 0u);
}

TEST_CASE_FIXTURE(system_fixture, "job_record round trips") {
  job_record x;
  x.id = job_id{1, 9};
  x.driver = "pid 42 on host-a";
  x.started_ns = 100;
  x.ended_ns = 200;
  auto y = round_trip(x);
  CHECK(y.id == (job_id{1, 9}));
  CHECK_EQ(y.driver, "pid 42 on host-a");
  CHECK_EQ(y.started_ns, 100);
  CHECK_EQ(y.ended_ns, 200);
}

TEST_CASE_FIXTURE(system_fixture, "function_record round trips") {
  function_record x;
  x.name = "math::add";
  x.signature = 0x1122334455667788ULL;
  x.signature_text = "int, int";
  x.job = job_id{2, 3};
  auto y = round_trip(x);
  CHECK_EQ(y.name, "math::add");
  CHECK_EQ(y.signature, 0x1122334455667788ULL);
  CHECK_EQ(y.signature_text, "int, int");
  CHECK(y.job == (job_id{2, 3}));
}

TEST_CASE_FIXTURE(system_fixture, "actor_record round trips") {
  actor_record x;
  x.id = actor_id{4, 5};
  x.class_name = "Counter";
  x.name = "global-counter";
  x.state = static_cast<uint8_t>(actor_state::dead);
  x.node = node_id{6, 7};
  x.restarts = 3;
  x.job = job_id{8, 9};
  x.address = "127.0.0.1:40123";
  x.pid = 31337;
  auto y = round_trip(x);
  CHECK_EQ(y.address, "127.0.0.1:40123");
  CHECK_EQ(y.pid, 31337);
  CHECK(y.id == (actor_id{4, 5}));
  CHECK_EQ(y.class_name, "Counter");
  CHECK_EQ(y.name, "global-counter");
  CHECK_EQ(y.state, static_cast<uint8_t>(actor_state::dead));
  CHECK(y.node == (node_id{6, 7}));
  CHECK_EQ(y.restarts, 3u);
  CHECK(y.job == (job_id{8, 9}));
}

TEST_CASE_FIXTURE(system_fixture,
                  "kv_entry round trips with binary keys and values") {
  kv_entry x{std::string{"k\0ey", 4}, std::string{"\xff\0v", 3}};
  auto y = round_trip(x);
  CHECK_EQ(y.key, std::string{"k\0ey", 4});
  CHECK_EQ(y.value, std::string{"\xff\0v", 3});
}

TEST_CASE_FIXTURE(system_fixture, "load_report round trips") {
  load_report x;
  x.node = node_id{1, 3};
  x.total = {{"CPU", 4000}};
  x.available = {{"CPU", -1000}};  // oversubscribed by a returning worker
  x.queued = 17;
  x.running = 5;
  x.workers = 6;
  auto y = round_trip(x);
  CHECK(y.node == (node_id{1, 3}));
  CHECK(y.total == resource_map{{"CPU", 4000}});
  CHECK(y.available == resource_map{{"CPU", -1000}});
  CHECK_EQ(y.queued, 17u);
  CHECK_EQ(y.running, 5u);
  CHECK_EQ(y.workers, 6u);
}

TEST_CASE_FIXTURE(system_fixture, "store_stats round trips") {
  auto y = round_trip(store_stats{3, 1ULL << 33, 2, 1ULL << 40, 4096, 7});
  CHECK_EQ(y.objects, 3u);
  CHECK_EQ(y.bytes, 1ULL << 33);
  CHECK_EQ(y.waiting_gets, 2u);
  CHECK_EQ(y.arena_capacity, 1ULL << 40);
  CHECK_EQ(y.arena_used, 4096u);
  CHECK_EQ(y.arena_pins, 7u);
}

TEST_CASE_FIXTURE(system_fixture, "arena_info round trips") {
  auto y = round_trip(arena_info{"/proc/4242/fd/17", 1ULL << 34, 9});
  CHECK_EQ(y.name, "/proc/4242/fd/17");
  CHECK_EQ(y.capacity, 1ULL << 34);
  CHECK_EQ(y.client, 9u);
}

TEST_CASE_FIXTURE(system_fixture, "arena_objects round trips") {
  arena_objects x;
  x.payloads.resize(2);
  x.payloads[1].data = blob{std::vector<char>{'a', 'b'}};
  x.offsets = {1ULL << 33, arena_objects::no_offset};
  x.sizes = {64ULL << 20, 2};
  auto y = round_trip(x);
  REQUIRE_EQ(y.payloads.size(), 2u);
  CHECK(y.payloads[0].data.empty());
  CHECK_EQ(std::string(y.payloads[1].data.data(), 2), "ab");
  CHECK(y.offsets == std::vector<uint64_t>{1ULL << 33, ~0ULL});
  CHECK(y.sizes == std::vector<uint64_t>{64ULL << 20, 2});
}

TEST_CASE_FIXTURE(system_fixture,
                  "resource_map round trips, extreme amounts included") {
  resource_map x{{"", 0},
                 {"CPU", 1000},
                 {"max", INT64_MAX},
                 {"min", INT64_MIN}};
  CHECK(round_trip(x) == x);
  CHECK(round_trip(resource_map{}).empty());
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<uint8_t> round trips") {
  std::vector<uint8_t> x{0, 1, 0x7f, 0x80, 0xff};
  CHECK(round_trip(x) == x);
  CHECK(round_trip(std::vector<uint8_t>{}).empty());
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<object_id> round trips") {
  std::vector<object_id> x{object_id{task_id{1, 2}, 3},
                           object_id{task_id{4, 5}, 6 | object_id::put_flag}};
  CHECK(round_trip(x) == x);
  CHECK(round_trip(std::vector<object_id>{}).empty());
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<object_payload> round trips") {
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(errc::task_failed);
  failed.error = sample_error();
  std::vector<object_payload> x{object_payload{}, failed};
  x[0].data = make_blob("v");
  auto y = round_trip(x);
  REQUIRE_EQ(y.size(), 2u);
  CHECK_EQ(str(y[0].data), "v");
  CHECK_FALSE(y[0].failed());
  CHECK(y[1].failed());
  check_sample_error(y[1].error);
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<kv_entry> round trips") {
  std::vector<kv_entry> x{{"a", "1"}, {std::string{"\0", 1}, ""}};
  auto y = round_trip(x);
  REQUIRE_EQ(y.size(), 2u);
  CHECK_EQ(y[0].key, "a");
  CHECK_EQ(y[0].value, "1");
  CHECK_EQ(y[1].key, std::string{"\0", 1});
  CHECK_EQ(y[1].value, "");
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<task_spec> round trips") {
  auto y = round_trip(std::vector<task_spec>{sample_spec(), task_spec{}});
  REQUIRE_EQ(y.size(), 2u);
  check_sample_spec(y[0]);
  CHECK(y[1].id.nil());
}

TEST_CASE_FIXTURE(system_fixture, "std::vector<task_id> round trips") {
  std::vector<task_id> x{task_id{1, 2}, task_id{}, task_id{~0ULL, 0}};
  CHECK(round_trip(x) == x);
}

TEST_CASE_FIXTURE(system_fixture,
                  "std::vector<task_assignment> round trips") {
  task_assignment a;
  a.spec = sample_spec();
  a.resolved = {object_payload{}};
  a.resolved[0].data = make_blob("r");
  auto y = round_trip(std::vector<task_assignment>{a, task_assignment{}});
  REQUIRE_EQ(y.size(), 2u);
  check_sample_spec(y[0].spec);
  REQUIRE_EQ(y[0].resolved.size(), 1u);
  CHECK_EQ(str(y[0].resolved[0].data), "r");
  CHECK(y[1].spec.id.nil());
}

TEST_CASE_FIXTURE(system_fixture,
                  "a whole message with a task_spec and payloads round trips") {
  object_payload ok;
  ok.data = make_blob(std::string{"\0ok", 3});
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(errc::object_lost);
  failed.error = sample_error();
  failed.error.code = static_cast<uint8_t>(errc::object_lost);
  std::vector<object_payload> payloads{ok, object_payload{}, failed};
  auto msg = caf::make_message(execute_atom_v, sample_spec(), payloads);
  auto buf = serialize(msg);
  caf::message copy;
  caf::binary_deserializer source{test_system(), buf};
  auto err = source(copy);
  REQUIRE_MESSAGE(!err, test_system().render(err));
  CHECK_EQ(source.remaining(), 0u);
  REQUIRE(copy.match_elements<execute_atom, task_spec,
                              std::vector<object_payload>>());
  check_sample_spec(copy.get_as<task_spec>(1));
  auto& ys = copy.get_as<std::vector<object_payload>>(2);
  REQUIRE_EQ(ys.size(), 3u);
  CHECK_FALSE(ys[0].failed());
  CHECK_EQ(str(ys[0].data), std::string{"\0ok", 3});
  CHECK_FALSE(ys[1].failed());
  CHECK(ys[1].data.empty());
  CHECK(ys[2].failed());
  CHECK_EQ(ys[2].error_code, static_cast<uint8_t>(errc::object_lost));
  CHECK_EQ(ys[2].error.code, static_cast<uint8_t>(errc::object_lost));
  CHECK_EQ(ys[2].error.message, "division by zero");
}

namespace {

member_info sample_member() {
  member_info m;
  m.id = node_id{7, 9};
  m.host = "127.0.0.1";
  m.port = 65535;
  m.head = true;
  m.total = {{"CPU", 2000}, {"special", 1000}};
  return m;
}

void check_sample_member(const member_info& m) {
  CHECK(m.id == (node_id{7, 9}));
  CHECK_EQ(m.host, "127.0.0.1");
  CHECK_EQ(m.port, 65535);
  CHECK(m.head);
  CHECK_EQ(m.total.at("CPU"), 2000);
  CHECK_EQ(m.total.at("special"), 1000);
  CHECK(!m.raylet);
  CHECK(!m.store);
}

} // namespace

TEST_CASE_FIXTURE(system_fixture, "cluster membership types round trip") {
  check_sample_member(round_trip(sample_member()));
  store_peer peer{node_id{1, 2}, "10.0.0.1", 7400, caf::actor{}};
  auto p = round_trip(peer);
  CHECK(p.id == (node_id{1, 2}));
  CHECK_EQ(p.host, "10.0.0.1");
  CHECK_EQ(p.port, 7400);
  cluster_welcome w;
  w.members = {sample_member(), member_info{}};
  auto w2 = round_trip(w);
  REQUIRE_EQ(w2.members.size(), 2u);
  check_sample_member(w2.members[0]);
  CHECK(w2.gcs.empty());
  cluster_status s;
  node_status ns;
  ns.member = sample_member();
  ns.alive = false;
  ns.answered = true;
  ns.load.queued = 5;
  ns.store.bytes = 1ull << 40;
  ns.draining = true;
  s.nodes = {ns};
  s.actors_by_state = {kv_entry{"alive", "4"}};
  auto s2 = round_trip(s);
  REQUIRE_EQ(s2.nodes.size(), 1u);
  check_sample_member(s2.nodes[0].member);
  CHECK(!s2.nodes[0].alive);
  CHECK(s2.nodes[0].answered);
  CHECK(s2.nodes[0].draining);
  CHECK_EQ(s2.nodes[0].load.queued, 5u);
  CHECK_EQ(s2.nodes[0].store.bytes, 1ull << 40);
  CHECK_EQ(s2.actors_by_state[0].value, "4");
}

TEST_CASE_FIXTURE(system_fixture, "actor_location round trips") {
  actor_location x;
  x.node = node_id{3, 4};
  x.address = "10.0.0.2:41000";
  x.pid = 4242;
  auto y = round_trip(x);
  CHECK(!y.handle);
  CHECK(y.node == (node_id{3, 4}));
  CHECK_EQ(y.address, "10.0.0.2:41000");
  CHECK_EQ(y.pid, 4242);
  CHECK(round_trip(actor_location{}).address.empty());
}
