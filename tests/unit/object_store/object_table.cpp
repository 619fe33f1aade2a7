// object_table: the store's logic without actors.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "object_store/object_table.hpp"

using namespace cafray;

namespace {

object_id oid(uint64_t n) {
  return object_id{task_id{0, n}, 1};
}

object_payload value(std::string bytes) {
  object_payload result;
  result.data = blob{blob::buffer(bytes.begin(), bytes.end())};
  return result;
}

std::string str(const object_payload& p) {
  return std::string(p.data.data() ? p.data.data() : "", p.data.size());
}

using tokens = std::vector<uint64_t>;

} // namespace

TEST_CASE("seal stores an object; find and contains see it") {
  object_table t;
  CHECK_FALSE(t.find(oid(1)));
  CHECK_FALSE(t.contains(oid(1)));
  CHECK(t.seal(oid(1), value("abc")).empty());
  REQUIRE(t.find(oid(1)));
  CHECK_EQ(str(*t.find(oid(1))), "abc");
  CHECK(t.contains(oid(1)));
  CHECK_EQ(t.size(), 1u);
  CHECK_EQ(t.bytes(), 3u);
}

TEST_CASE("a second seal of the same id is ignored") {
  object_table t;
  t.seal(oid(1), value("first"));
  CHECK(t.seal(oid(1), value("second, longer")).empty());
  CHECK_EQ(str(*t.find(oid(1))), "first");
  CHECK_EQ(t.size(), 1u);
  CHECK_EQ(t.bytes(), 5u);
}

TEST_CASE("a failed payload is an object too") {
  object_table t;
  object_payload failed;
  failed.error_code = static_cast<uint8_t>(4);
  failed.error.message = "lost";
  t.seal(oid(1), failed);
  REQUIRE(t.find(oid(1)));
  CHECK(t.find(oid(1))->failed());
  CHECK_EQ(t.find(oid(1))->error.message, "lost");
  CHECK_EQ(t.bytes(), 0u);
}

TEST_CASE("a request for objects that exist completes at once, untracked") {
  object_table t;
  t.seal(oid(1), value("a"));
  t.seal(oid(2), value("bb"));
  bool complete = false;
  object_table::request req;
  auto token = t.open({oid(2), oid(1)}, SIZE_MAX, complete, &req);
  CHECK(complete);
  CHECK_EQ(token, 1u);
  CHECK(req.ids == std::vector<object_id>{oid(2), oid(1)});
  CHECK(req.ready == std::vector<uint8_t>{1, 1});
  CHECK_EQ(req.needed, 2u);
  CHECK_EQ(req.have, 2u);
  CHECK_EQ(t.pending_requests(), 0u);
  CHECK(t.find_request(token) == nullptr);
}

TEST_CASE("needed = all: completes when the last object arrives") {
  object_table t;
  t.seal(oid(2), value("x"));
  bool complete = true;
  auto token = t.open({oid(1), oid(2), oid(3)}, SIZE_MAX, complete);
  CHECK_FALSE(complete);
  CHECK_EQ(t.pending_requests(), 1u);
  auto* req = t.find_request(token);
  REQUIRE(req != nullptr);
  CHECK_EQ(req->needed, 3u);
  CHECK_EQ(req->have, 1u);
  CHECK(req->ready == std::vector<uint8_t>{0, 1, 0});
  CHECK(t.seal(oid(3), value("y")).empty());
  CHECK(req->ready == std::vector<uint8_t>{0, 1, 1});
  CHECK(t.seal(oid(1), value("z")) == tokens{token});
  // Completed but still open until the owner closes it.
  REQUIRE(t.find_request(token) != nullptr);
  CHECK(t.find_request(token)->ready == std::vector<uint8_t>{1, 1, 1});
  CHECK_EQ(t.find_request(token)->have, 3u);
  t.close(token);
  CHECK(t.find_request(token) == nullptr);
  CHECK_EQ(t.pending_requests(), 0u);
}

TEST_CASE("needed = k: completes with the k-th object, flags say which") {
  object_table t;
  bool complete = true;
  auto token = t.open({oid(1), oid(2), oid(3), oid(4)}, 2, complete);
  CHECK_FALSE(complete);
  CHECK(t.seal(oid(3), value("c")).empty());
  CHECK(t.seal(oid(1), value("a")) == tokens{token});
  CHECK(t.find_request(token)->ready == std::vector<uint8_t>{1, 0, 1, 0});
  t.close(token);
  // Objects sealed after the close complete nothing.
  CHECK(t.seal(oid(2), value("b")).empty());
  CHECK(t.seal(oid(4), value("d")).empty());
}

TEST_CASE("needed = 1 and needed above the count") {
  object_table t;
  bool complete = true;
  auto one = t.open({oid(1), oid(2)}, 1, complete);
  CHECK_FALSE(complete);
  auto many = t.open({oid(2)}, 5, complete);  // capped at the id count
  CHECK_FALSE(complete);
  CHECK_EQ(t.find_request(many)->needed, 1u);
  CHECK(t.seal(oid(2), value("b")) == tokens{one, many});
  CHECK(t.find_request(one)->ready == std::vector<uint8_t>{0, 1});
}

TEST_CASE("needed = 0 and an empty id list complete at once") {
  object_table t;
  bool complete = false;
  t.open({oid(1)}, 0, complete);
  CHECK(complete);
  complete = false;
  t.open({}, SIZE_MAX, complete);
  CHECK(complete);
  CHECK_EQ(t.pending_requests(), 0u);
}

TEST_CASE("completion tokens come in the order the requests were made") {
  object_table t;
  bool complete = true;
  auto t1 = t.open({oid(1)}, 1, complete);
  auto t2 = t.open({oid(2), oid(1)}, SIZE_MAX, complete);
  auto t3 = t.open({oid(1), oid(2)}, 1, complete);
  auto t4 = t.open({oid(1)}, 1, complete);
  CHECK(t1 < t2);
  CHECK(t2 < t3);
  CHECK(t3 < t4);
  // oid(1) completes t1, t3 and t4 in order; t2 still needs oid(2).
  CHECK(t.seal(oid(1), value("a")) == tokens{t1, t3, t4});
  for (auto tk : {t1, t3, t4})
    t.close(tk);
  CHECK(t.seal(oid(2), value("b")) == tokens{t2});
}

TEST_CASE("a request naming the same id twice counts it twice") {
  object_table t;
  bool complete = true;
  auto token = t.open({oid(1), oid(1)}, SIZE_MAX, complete);
  CHECK_FALSE(complete);
  CHECK(t.seal(oid(1), value("a")) == tokens{token});
  CHECK(t.find_request(token)->ready == std::vector<uint8_t>{1, 1});
  CHECK_EQ(t.find_request(token)->have, 2u);
}

TEST_CASE("close forgets a pending request; closing twice is harmless") {
  object_table t;
  bool complete = true;
  auto t1 = t.open({oid(1), oid(2)}, SIZE_MAX, complete);
  auto t2 = t.open({oid(1)}, SIZE_MAX, complete);
  CHECK_EQ(t.pending_requests(), 2u);
  t.close(t1);
  t.close(t1);
  t.close(999);
  CHECK_EQ(t.pending_requests(), 1u);
  CHECK(t.find_request(t1) == nullptr);
  CHECK(t.seal(oid(1), value("a")) == tokens{t2});
  CHECK(t.seal(oid(2), value("b")).empty());
}

TEST_CASE("release after seal frees the object and its bytes") {
  object_table t;
  t.seal(oid(1), value("12345"));
  t.seal(oid(2), value("12"));
  CHECK_EQ(t.bytes(), 7u);
  t.release({oid(1)});
  CHECK_FALSE(t.find(oid(1)));
  CHECK_EQ(t.size(), 1u);
  CHECK_EQ(t.bytes(), 2u);
  t.release({oid(2)});
  CHECK_EQ(t.size(), 0u);
  CHECK_EQ(t.bytes(), 0u);
}

TEST_CASE("release before seal: the object is dropped on arrival but its "
          "waiters complete") {
  object_table t;
  bool complete = true;
  auto token = t.open({oid(1)}, SIZE_MAX, complete);
  t.release({oid(1)});
  CHECK(t.seal(oid(1), value("abc")) == tokens{token});
  CHECK_FALSE(t.find(oid(1)));
  CHECK_EQ(t.size(), 0u);
  CHECK_EQ(t.bytes(), 0u);
  t.close(token);
  // The release was used up by that seal: a later object of the same ID
  // (a re-execution) is kept.
  t.seal(oid(1), value("abcd"));
  CHECK_EQ(t.bytes(), 4u);
}

TEST_CASE("bytes accounting over seals and releases") {
  object_table t;
  uint64_t expected = 0;
  for (uint64_t i = 1; i <= 10; ++i) {
    t.seal(oid(i), value(std::string(i * 100, 'x')));
    expected += i * 100;
  }
  CHECK_EQ(t.bytes(), expected);
  CHECK_EQ(t.bytes(), 5500u);
  t.release({oid(1), oid(10), oid(11)});
  CHECK_EQ(t.bytes(), 5500u - 100u - 1000u);
  CHECK_EQ(t.size(), 8u);
}
