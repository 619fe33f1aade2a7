// The history file format.

#include <doctest/doctest.h>

#include <sstream>

#include "history.hpp"

using namespace cafray::lincheck;

namespace {

parsed_history parse(const std::string& text) {
  std::istringstream in{text};
  return parse_history(in);
}

} // namespace

TEST_CASE("a history survives writing and reading back") {
  auto parsed = parse("# comment\n"
                      "\n"
                      "1 x write 5 10 20\n"
                      "  2 x read - 0 3\r\n"
                      "3 y write a 7 ?\n"
                      "4 y write b 8 fail\n");
  REQUIRE_EQ(parsed.error, "");
  auto& ops = parsed.value.operations;
  REQUIRE_EQ(ops.size(), 4u);
  CHECK_EQ(ops[0].client, 1u);
  CHECK_EQ(ops[0].key, "x");
  CHECK_EQ(ops[0].kind, op_kind::write);
  CHECK_EQ(ops[0].value, "5");
  CHECK_EQ(ops[0].invoke, 10);
  CHECK_EQ(ops[0].complete, 20);
  CHECK_EQ(ops[0].result, outcome::ok);
  CHECK_EQ(ops[1].kind, op_kind::read);
  CHECK_EQ(ops[1].value, std::nullopt);
  CHECK_EQ(ops[2].result, outcome::unknown);
  CHECK_EQ(ops[3].result, outcome::failed);
  std::ostringstream out;
  write_history(out, parsed.value);
  CHECK_EQ(out.str(), "1 x write 5 10 20\n"
                      "2 x read - 0 3\n"
                      "3 y write a 7 ?\n"
                      "4 y write b 8 fail\n");
  auto again = parse(out.str());
  REQUIRE_EQ(again.error, "");
  CHECK_EQ(again.value.operations.size(), 4u);
  CHECK_EQ(describe(ops[1]), "client 2: read x -> absent [0, 3]");
  CHECK_EQ(describe(ops[2]), "client 3: write y := a [7, no answer]");
}

TEST_CASE("malformed lines are reported with their number") {
  CHECK_EQ(parse("1 x write 5 10\n").error,
           "line 1: expected <client> <key> <kind> <value> <invoke> "
           "<complete>");
  CHECK_EQ(parse("\n1 x erase 5 10 20\n").error,
           "line 2: kind must be read or write, not 'erase'");
  CHECK_EQ(parse("1 x write - 10 20\n").error,
           "line 1: a write cannot write '-', which means absent");
  CHECK_EQ(parse("1 x read 5 20 10\n").error,
           "line 1: completes before it is invoked");
  CHECK_EQ(parse("1 x read 5 ten 20\n").error,
           "line 1: bad invocation time 'ten'");
  CHECK_EQ(parse("1 x read 5 10 20 30\n").error,
           "line 1: unexpected field '30'");
  CHECK_EQ(parse("a x read 5 10 20\n").error, "line 1: bad client 'a'");
  CHECK(parse("1 x read 5 10 20\nbad\n").value.operations.empty());
}
