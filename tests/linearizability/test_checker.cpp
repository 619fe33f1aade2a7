// The checker on histories whose answer is known.

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <sstream>

#include "checker.hpp"

using namespace cafray::lincheck;

namespace {

history parse(const std::string& text) {
  std::istringstream in{text};
  auto parsed = parse_history(in);
  REQUIRE_EQ(parsed.error, "");
  return parsed.value;
}

check_result check_text(const std::string& text) {
  return check(parse(text));
}

} // namespace

TEST_CASE("a sequential history is linearizable") {
  auto result = check_text("1 x read - 0 1\n"
                           "1 x write 1 2 3\n"
                           "1 x read 1 4 5\n"
                           "2 y write 7 0 1\n"
                           "1 x write 2 6 7\n"
                           "2 x read 2 8 9\n");
  CHECK(result.ok());
  CHECK_EQ(result.keys, 2u);
  CHECK_EQ(result.operations, 6u);
  CHECK(check(history{}).ok());
}

TEST_CASE("a stale read after a completed write is a violation") {
  auto result = check_text("1 x write 1 0 10\n"
                           "1 x write 2 20 30\n"
                           "2 x read 1 40 50\n");
  CHECK_EQ(result.result, verdict::violation);
  CHECK_EQ(result.key, "x");
  CHECK_NE(result.explanation.find("client 2: read x -> 1 [40, 50]"),
           std::string::npos);
  // Reading the initial absence after a write completed, likewise.
  CHECK_FALSE(check_text("1 x write 1 0 10\n"
                         "2 x read - 20 30\n")
                  .ok());
  // A read overlapping the second write may still see the first value.
  CHECK(check_text("1 x write 1 0 10\n"
                   "1 x write 2 20 30\n"
                   "2 x read 1 25 50\n")
            .ok());
}

TEST_CASE("reads going backwards are a violation") {
  auto result = check_text("1 x write 1 0 10\n"
                           "1 x write 2 20 30\n"
                           "2 x read 2 22 40\n"
                           "3 x read 1 45 50\n");
  CHECK_EQ(result.result, verdict::violation);
  // Even when both reads overlap the second write: once one read saw it,
  // a later one cannot miss it.
  CHECK_FALSE(check_text("1 x write 1 0 10\n"
                         "1 x write 2 20 100\n"
                         "2 x read 2 30 40\n"
                         "3 x read 1 50 60\n")
                  .ok());
}

TEST_CASE("overlapping writes may take effect in either order") {
  auto writes = "1 x write 1 0 10\n"
                "2 x write 2 5 15\n";
  CHECK(check_text(std::string{writes} + "3 x read 1 20 30\n").ok());
  CHECK(check_text(std::string{writes} + "3 x read 2 20 30\n").ok());
  // But not both: the register cannot go back to the earlier one.
  CHECK_FALSE(check_text(std::string{writes} + "3 x read 2 20 30\n"
                         + "3 x read 1 40 50\n")
                  .ok());
  // Reads during the writes can see them in one order, later reads agree.
  CHECK(check_text("1 x write 1 0 100\n"
                   "2 x write 2 0 100\n"
                   "3 x read 2 10 20\n"
                   "3 x read 1 30 40\n"
                   "4 x read 1 150 160\n")
            .ok());
}

TEST_CASE("an unanswered write may take effect late or never") {
  // It shows up in a read long after it was sent: allowed.
  CHECK(check_text("1 x write 1 0 10\n"
                   "2 x write 9 20 ?\n"
                   "3 x read 1 30 40\n"
                   "3 x read 9 500 510\n"
                   "4 x read 9 600 610\n")
            .ok());
  // It never shows up: allowed too.
  CHECK(check_text("1 x write 1 0 10\n"
                   "2 x write 9 20 ?\n"
                   "3 x read 1 500 510\n")
            .ok());
  // It shows up and then disappears: not allowed.
  auto result = check_text("1 x write 1 0 10\n"
                           "2 x write 9 20 ?\n"
                           "3 x read 9 30 40\n"
                           "3 x read 1 50 60\n");
  CHECK_EQ(result.result, verdict::violation);
  // It cannot take effect before it was sent.
  CHECK_FALSE(check_text("3 x read 9 0 10\n"
                         "2 x write 9 20 ?\n")
                  .ok());
}

TEST_CASE("a failed write must not show up, an unanswered read says nothing") {
  CHECK_FALSE(check_text("1 x write 1 0 10\n"
                         "2 x write 9 20 fail\n"
                         "3 x read 9 30 40\n")
                  .ok());
  CHECK(check_text("1 x write 1 0 10\n"
                   "2 x write 9 20 fail\n"
                   "3 x read 1 30 40\n"
                   "4 x read 42 50 ?\n"
                   "4 x read 43 50 fail\n")
            .ok());
  // A value nobody wrote.
  CHECK_FALSE(check_text("1 x read 5 0 10\n").ok());
}

TEST_CASE("the violating key is named among many good ones") {
  std::string text;
  for (int k = 0; k < 50; ++k) {
    auto key = "k" + std::to_string(k);
    text += "1 " + key + " write a 0 10\n";
    text += "2 " + key + " read a 20 30\n";
  }
  text += "3 k17 read - 40 50\n";
  auto result = check_text(text);
  CHECK_EQ(result.result, verdict::violation);
  CHECK_EQ(result.key, "k17");
  CHECK_EQ(result.keys, 50u);
  CHECK_EQ(result.operations, 101u);
}

TEST_CASE("a large generated history is checked quickly") {
  // Each key is an atomic register: every operation takes effect at a point
  // inside its interval, reads return the value at that point. Some writes
  // lose their answer; they still took effect.
  std::mt19937_64 rng{42};
  auto uniform = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
  };
  history h;
  constexpr int keys = 200;
  constexpr int ops_per_key = 60;
  for (int k = 0; k < keys; ++k) {
    std::optional<std::string> value;
    int64_t point = 0;
    for (int i = 0; i < ops_per_key; ++i) {
      point += uniform(1, 20);
      operation op;
      op.client = static_cast<uint64_t>(uniform(1, 8));
      op.key = "k" + std::to_string(k);
      op.invoke = point - uniform(0, 60);
      op.complete = point + uniform(0, 60);
      if (uniform(0, 1) == 0) {
        op.kind = op_kind::write;
        value = std::to_string(k) + "-" + std::to_string(i);
        op.value = value;
        if (uniform(0, 9) == 0)
          op.result = outcome::unknown;
      } else {
        op.kind = op_kind::read;
        op.value = value;
      }
      h.operations.push_back(op);
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto result = check(h);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(result.ok());
  CHECK_EQ(result.keys, size_t{keys});
  // A generous bound: a search without memoization would not finish.
  CHECK_LT(took, std::chrono::seconds{10});
  // Make a read of one key return the value of a write that a later write
  // overwrote before the read began: the checker finds it.
  auto of_key = [&h](const std::string& key) {
    std::vector<operation*> result;
    for (auto& op : h.operations)
      if (op.key == key)
        result.push_back(&op);
    return result;
  };
  auto ops = of_key("k100");
  bool broken = false;
  for (auto read : ops) {
    if (read->kind != op_kind::read || broken)
      continue;
    auto done_before = [](const operation* x, int64_t time) {
      return x->kind == op_kind::write && x->result == outcome::ok
             && x->complete < time;
    };
    const operation* last = nullptr;
    for (auto w : ops)
      if (done_before(w, read->invoke)
          && (!last || w->complete > last->complete))
        last = w;
    if (!last)
      continue;
    for (auto w : ops)
      if (done_before(w, last->invoke)) {
        read->value = w->value;
        broken = true;
        break;
      }
  }
  REQUIRE(broken);
  auto result_broken = check(h);
  CHECK_EQ(result_broken.result, verdict::violation);
  CHECK_EQ(result_broken.key, "k100");
}

TEST_CASE("the search budget gives up with an inconclusive verdict") {
  std::string text;
  for (int i = 0; i < 12; ++i)
    text += std::to_string(i) + " x write " + std::to_string(i) + " 0 100\n";
  text += "99 x read 3 50 60\n";
  check_options tiny;
  tiny.max_states = 5;
  auto result = check(parse(text), tiny);
  CHECK_EQ(result.result, verdict::inconclusive);
  CHECK_EQ(result.key, "x");
  CHECK(check(parse(text)).ok());
}

TEST_CASE("operations that touch at one instant count as concurrent") {
  // The second write completed at 20 and the read began at 20: neither
  // strictly precedes the other, so the read may come first.
  CHECK(check_text("1 x write 1 0 9\n"
                   "1 x write 2 10 20\n"
                   "2 x read 1 20 30\n")
            .ok());
  CHECK_FALSE(check_text("1 x write 1 0 9\n"
                         "1 x write 2 10 20\n"
                         "2 x read 1 21 30\n")
                  .ok());
}
