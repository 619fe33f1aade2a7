// Every GCS record survives encode_record/decode_record bit for bit.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "proto/messages.hpp"
#include "proto/record_codec.hpp"

using namespace cafray;

namespace {

template <class T>
T round_trip(const T& x) {
  auto bytes = encode_record(x);
  REQUIRE_FALSE(bytes.empty());
  auto y = decode_record<T>(bytes);
  REQUIRE(y);
  return std::move(*y);
}

task_id tid(uint64_t hi, uint64_t lo) {
  return task_id{hi, lo};
}

blob make_blob(std::string bytes) {
  return blob{blob::buffer(bytes.begin(), bytes.end())};
}

} // namespace

TEST_CASE("task_record round trip, with inline and by-reference args") {
  task_record x;
  x.spec.id = tid(1, 2);
  x.spec.job = job_id{3, 4};
  x.spec.kind = static_cast<uint8_t>(task_kind::actor_call);
  x.spec.function = "Counter::increment";
  x.spec.signature = 0xdeadbeefcafef00dULL;
  task_arg by_value;
  by_value.kind = static_cast<uint8_t>(arg_kind::value);
  by_value.value = make_blob(std::string{"\0\x01\xff payload", 11});
  task_arg by_ref;
  by_ref.kind = static_cast<uint8_t>(arg_kind::resolved);
  by_ref.ref = object_id{tid(5, 6), 7 | object_id::put_flag};
  x.spec.args = {by_value, by_ref, task_arg{}};
  x.spec.resources = {{"CPU", 1000}, {"gpu", 500}};
  x.spec.max_retries = -1;
  x.spec.name = "inc";
  x.spec.parent = tid(8, 9);
  x.spec.actor = actor_id{10, 11};
  x.spec.seq = 12;
  x.spec.num_returns = 2;
  x.state = static_cast<uint8_t>(task_state::spilled);
  x.node = node_id{13, 14};
  x.updated_ns = -15;
  auto y = round_trip(x);
  CHECK(y.spec.id == tid(1, 2));
  CHECK(y.spec.job == (job_id{3, 4}));
  CHECK_EQ(y.spec.kind, static_cast<uint8_t>(task_kind::actor_call));
  CHECK_EQ(y.spec.function, "Counter::increment");
  CHECK_EQ(y.spec.signature, 0xdeadbeefcafef00dULL);
  REQUIRE_EQ(y.spec.args.size(), 3u);
  CHECK_EQ(y.spec.args[0].kind, static_cast<uint8_t>(arg_kind::value));
  CHECK(y.spec.args[0].ref.nil());
  CHECK_EQ(std::string(y.spec.args[0].value.data(),
                       y.spec.args[0].value.size()),
           std::string{"\0\x01\xff payload", 11});
  CHECK_EQ(y.spec.args[1].kind, static_cast<uint8_t>(arg_kind::resolved));
  CHECK(y.spec.args[1].ref == (object_id{tid(5, 6), 7 | object_id::put_flag}));
  CHECK(y.spec.args[1].ref.is_put());
  CHECK(y.spec.args[1].value.empty());
  CHECK(y.spec.args[2].value.empty());
  CHECK(y.spec.resources == resource_map{{"CPU", 1000}, {"gpu", 500}});
  CHECK_EQ(y.spec.max_retries, -1);
  CHECK_EQ(y.spec.name, "inc");
  CHECK(y.spec.parent == tid(8, 9));
  CHECK(y.spec.actor == (actor_id{10, 11}));
  CHECK_EQ(y.spec.seq, 12u);
  CHECK_EQ(y.spec.num_returns, 2u);
  CHECK_EQ(y.state, static_cast<uint8_t>(task_state::spilled));
  CHECK(y.node == (node_id{13, 14}));
  CHECK_EQ(y.updated_ns, -15);
}

TEST_CASE("node_record round trip") {
  node_record x;
  x.id = node_id{1, 0xffffffffffffffffULL};
  x.address = "10.0.0.1:4000";
  x.total = {{"CPU", 4000}, {"memory", 1LL << 40}};
  x.available = {{"CPU", 0}};
  x.alive = false;
  x.updated_ns = 1234567890123456789LL;
  auto y = round_trip(x);
  CHECK(y.id == x.id);
  CHECK_EQ(y.address, "10.0.0.1:4000");
  CHECK(y.total == resource_map{{"CPU", 4000}, {"memory", 1LL << 40}});
  CHECK(y.available == resource_map{{"CPU", 0}});
  CHECK_FALSE(y.alive);
  CHECK_EQ(y.updated_ns, 1234567890123456789LL);
}

TEST_CASE("object_record round trip") {
  object_record x;
  x.id = object_id{tid(21, 22), 3};
  x.size = 1ULL << 33;
  x.locations = {node_id{1, 2}, node_id{3, 4}};
  x.owner = job_id{5, 6};
  auto y = round_trip(x);
  CHECK(y.id == x.id);
  CHECK_EQ(y.size, 1ULL << 33);
  REQUIRE_EQ(y.locations.size(), 2u);
  CHECK(y.locations[0] == (node_id{1, 2}));
  CHECK(y.locations[1] == (node_id{3, 4}));
  CHECK(y.owner == (job_id{5, 6}));
}

TEST_CASE("job_record round trip") {
  job_record x{job_id{7, 8}, "driver pid 42 on host-a", 100, 200};
  auto y = round_trip(x);
  CHECK(y.id == (job_id{7, 8}));
  CHECK_EQ(y.driver, "driver pid 42 on host-a");
  CHECK_EQ(y.started_ns, 100);
  CHECK_EQ(y.ended_ns, 200);
}

TEST_CASE("function_record round trip") {
  function_record x{"f1", 0x0123456789abcdefULL, "(int)", job_id{9, 10}};
  auto y = round_trip(x);
  CHECK_EQ(y.name, "f1");
  CHECK_EQ(y.signature, 0x0123456789abcdefULL);
  CHECK_EQ(y.signature_text, "(int)");
  CHECK(y.job == (job_id{9, 10}));
}

TEST_CASE("actor_record round trip") {
  actor_record x;
  x.id = actor_id{11, 12};
  x.class_name = "Counter";
  x.name = "global-counter";
  x.state = static_cast<uint8_t>(actor_state::dead);
  x.node = node_id{13, 14};
  x.restarts = 3;
  x.job = job_id{15, 16};
  auto y = round_trip(x);
  CHECK(y.id == (actor_id{11, 12}));
  CHECK_EQ(y.class_name, "Counter");
  CHECK_EQ(y.name, "global-counter");
  CHECK_EQ(y.state, static_cast<uint8_t>(actor_state::dead));
  CHECK(y.node == (node_id{13, 14}));
  CHECK_EQ(y.restarts, 3u);
  CHECK(y.job == (job_id{15, 16}));
}

TEST_CASE("error_record round trip") {
  error_record x;
  x.code = static_cast<uint8_t>(errc::task_failed);
  x.task = tid(17, 18);
  x.function = "f1";
  x.type_name = "std::runtime_error";
  x.message = "boom \xe2\x9c\x97";
  x.time_ns = 1700000000000000000LL;
  auto y = round_trip(x);
  CHECK_EQ(y.code, static_cast<uint8_t>(errc::task_failed));
  CHECK(y.task == tid(17, 18));
  CHECK_EQ(y.function, "f1");
  CHECK_EQ(y.type_name, "std::runtime_error");
  CHECK_EQ(y.message, "boom \xe2\x9c\x97");
  CHECK_EQ(y.time_ns, 1700000000000000000LL);
}

TEST_CASE("kv_entry round trip") {
  kv_entry x{std::string{"k\0ey", 4}, std::string(100000, 'v')};
  auto y = round_trip(x);
  CHECK_EQ(y.key, std::string{"k\0ey", 4});
  CHECK_EQ(y.value, std::string(100000, 'v'));
}

TEST_CASE("decoding garbage fails instead of crashing") {
  auto res = decode_record<task_record>(std::string{"\x05\x01", 2});
  CHECK_FALSE(res);
  auto empty = decode_record<node_record>(std::string{});
  CHECK_FALSE(empty);
}

TEST_CASE("encode_fields writes the bytes of the struct those fields make") {
  task_record x;
  x.spec.id = tid(1, 2);
  x.spec.function = "f";
  x.spec.resources = {{"CPU", 1000}};
  x.spec.args = {task_arg{}};
  x.state = static_cast<uint8_t>(task_state::waiting);
  x.node = node_id{3, 4};
  x.updated_ns = 5;
  auto whole = encode_record(x);
  auto fields = encode_fields(x.spec, x.state, x.node, x.updated_ns);
  CHECK(!whole.empty());
  CHECK(fields == whole);
  auto back = decode_record<task_record>(fields);
  REQUIRE(back);
  CHECK(back->spec.id == tid(1, 2));
  CHECK(back->spec.function == "f");
  CHECK(back->node == node_id{3, 4});
  CHECK(back->updated_ns == 5);
}

TEST_CASE("append_task_record writes exactly CAF's bytes of a task_record") {
  task_record x;
  x.spec.id = tid(0x0102030405060708ULL, 0xf1f2f3f4f5f6f7f8ULL);
  x.spec.job = job_id{3, 4};
  x.spec.kind = static_cast<uint8_t>(task_kind::actor_call);
  x.spec.function = "Counter::increment";
  x.spec.signature = 0xdeadbeefcafef00dULL;
  task_arg by_value;
  by_value.kind = static_cast<uint8_t>(arg_kind::value);
  // Longer than 127 and 16,383 bytes: two- and three-byte sizes.
  by_value.value = make_blob(std::string(20000, '\xab'));
  task_arg by_ref;
  by_ref.kind = static_cast<uint8_t>(arg_kind::resolved);
  by_ref.ref = object_id{tid(5, 6), 7 | object_id::put_flag};
  task_arg small;
  small.value = make_blob(std::string(200, 'x'));
  x.spec.args = {by_value, by_ref, task_arg{}, small};
  x.spec.resources = {{"CPU", 1000}, {"gpu", -500}, {"", 0}};
  x.spec.max_retries = -1;
  x.spec.name = std::string(130, 'n');
  x.spec.parent = tid(8, 9);
  x.spec.actor = actor_id{10, 11};
  x.spec.seq = 12;
  x.spec.num_returns = 0xfffffffeU;
  x.state = static_cast<uint8_t>(task_state::spilled);
  x.node = node_id{13, 14};
  x.updated_ns = -15;
  auto expected = encode_record(x);
  REQUIRE_FALSE(expected.empty());
  std::vector<char> buf{'p', 'r', 'e'};
  append_task_record(buf, x.spec, x.state, x.node, x.updated_ns);
  REQUIRE(buf.size() == expected.size() + 3);
  CHECK(std::string(buf.begin() + 3, buf.end()) == expected);
  // A default spec, empty everywhere.
  task_record empty;
  std::vector<char> buf2;
  append_task_record(buf2, empty.spec, empty.state, empty.node,
                     empty.updated_ns);
  CHECK(std::string(buf2.begin(), buf2.end()) == encode_record(empty));
}

TEST_CASE("lineage segments hold many task records in one row each") {
  lineage_writer w;
  CHECK(w.take().empty());
  constexpr uint64_t n = 20000;
  for (uint64_t i = 0; i < n; ++i) {
    task_spec spec;
    spec.id = tid(77, i + 1);
    spec.function = "f" + std::to_string(i % 10);
    spec.resources = {{"CPU", 1000}};
    w.add(spec, static_cast<uint8_t>(task_state::waiting), node_id{1, 2},
          static_cast<int64_t>(i));
  }
  auto rows = w.take();
  // 20,000 records of ~150 bytes: a few 1 MiB segments, not 20,000 rows.
  REQUIRE(rows.size() >= 2);
  REQUIRE(rows.size() <= 4);
  CHECK(w.take().empty());
  uint64_t next = 1;
  for (auto& row : rows) {
    CHECK(row.key.size() == 24);
    CHECK(row.key.compare(0, 16, to_key(tid(77, next))) == 0);
    auto recs = decode_segment(row.value);
    REQUIRE(recs);
    for (auto& rec : *recs) {
      REQUIRE(rec.spec.id == tid(77, next));
      REQUIRE(rec.spec.function == "f" + std::to_string((next - 1) % 10));
      REQUIRE(rec.updated_ns == static_cast<int64_t>(next - 1));
      REQUIRE(rec.node == node_id{1, 2});
      ++next;
    }
  }
  CHECK(next == n + 1);
  CHECK(rows.front().key != rows.back().key);
  CHECK_FALSE(decode_segment(std::string{"\x05\x01", 2}));
}
