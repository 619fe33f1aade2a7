// The group-commit buffer alone, without actors.

#include <doctest/doctest.h>

#include "gcs/pending_writes.hpp"

using namespace cafray;

namespace {

std::string render_rows(const std::vector<kv_entry>& rows) {
  std::string result;
  for (auto& row : rows)
    result += (result.empty() ? "" : ",") + row.key + "=" + row.value;
  return result;
}

} // namespace

TEST_CASE("pending writes remember the last write of each key") {
  pending_writes pending;
  CHECK(pending.empty());
  const std::string* value = nullptr;
  CHECK_EQ(pending.lookup(0, "k", value),
           pending_writes::lookup_result::unknown);
  pending.put(0, "k", "v1");
  pending.put(0, "k", "v2");
  CHECK_EQ(pending.writes(), 2u);
  REQUIRE_EQ(pending.lookup(0, "k", value),
             pending_writes::lookup_result::written);
  CHECK_EQ(*value, "v2");
  CHECK_EQ(pending.lookup(1, "k", value),
           pending_writes::lookup_result::unknown);
  pending.erase(0, "k");
  CHECK_EQ(pending.lookup(0, "k", value),
           pending_writes::lookup_result::erased);
}

TEST_CASE("take yields one batch in table and key order and clears") {
  pending_writes pending;
  pending.put(3, "b", "1");
  pending.put(1, "z", "2");
  pending.put(3, "a", "3");
  pending.erase(3, "b");
  auto batch = pending.take();
  CHECK(pending.empty());
  REQUIRE_EQ(batch.size(), 3u);
  auto& ops = batch.ops();
  CHECK_EQ(ops[0].table, 1);
  CHECK_EQ(ops[0].key, "z");
  CHECK_EQ(ops[0].value, "2");
  CHECK_EQ(ops[1].table, 3);
  CHECK_EQ(ops[1].key, "a");
  CHECK_FALSE(ops[1].erase);
  CHECK_EQ(ops[2].key, "b");
  CHECK(ops[2].erase);
  const std::string* value = nullptr;
  CHECK_EQ(pending.lookup(3, "a", value),
           pending_writes::lookup_result::unknown);
}

TEST_CASE("overlay merges pending writes into a scan result") {
  pending_writes pending;
  std::vector<kv_entry> rows{{"a1", "s1"}, {"a2", "s2"}, {"a3", "s3"}};
  SUBCASE("nothing pending under the prefix leaves rows alone") {
    pending.put(0, "b", "x");
    pending.put(1, "a2", "other table");
    pending.overlay(0, "a", rows);
    CHECK_EQ(render_rows(rows), "a1=s1,a2=s2,a3=s3");
  }
  SUBCASE("puts replace and insert, erases remove") {
    pending.put(0, "a0", "p0");
    pending.put(0, "a2", "p2");
    pending.erase(0, "a3");
    pending.put(0, "a4", "p4");
    pending.put(0, "b", "outside");
    pending.erase(0, "a9");
    pending.overlay(0, "a", rows);
    CHECK_EQ(render_rows(rows), "a0=p0,a1=s1,a2=p2,a4=p4");
  }
  SUBCASE("an empty prefix covers the whole table") {
    std::vector<kv_entry> none;
    pending.put(0, "x", "1");
    pending.erase(0, "y");
    pending.overlay(0, "", none);
    CHECK_EQ(render_rows(none), "x=1");
  }
}
