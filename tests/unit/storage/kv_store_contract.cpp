// One contract, run against every kv_store implementation.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "storage/lmdb_kv_store.hpp"
#include "storage/memory_kv_store.hpp"
#include "../common/test_directory.hpp"

using namespace cafray;

namespace {

struct memory_fixture {
  std::unique_ptr<kv_store> store = std::make_unique<memory_kv_store>();
};

struct lmdb_fixture {
  test_directory dir;
  std::unique_ptr<kv_store> store;

  lmdb_fixture() {
    lmdb_options opts;
    opts.map_size = size_t{1} << 20;
    opts.sync = false;
    auto res = lmdb_kv_store::open(dir.path(), opts);
    REQUIRE(res);
    store = std::move(*res);
  }
};

std::string keys_of(const std::vector<kv_entry>& rows) {
  std::string result;
  for (auto& row : rows) {
    if (!result.empty())
      result += ',';
    result += row.key + '=' + row.value;
  }
  return result;
}

} // namespace

TEST_CASE_TEMPLATE("kv_store contract", F, memory_fixture, lmdb_fixture) {
  F fixture;
  auto& store = *fixture.store;
  REQUIRE_EQ(store.table_count(), gcs_table_count);

  SUBCASE("a missing key is not_found") {
    auto res = store.get(0, "nope");
    REQUIRE(!res);
    CHECK_EQ(code_of(res.error()), errc::not_found);
    CHECK_EQ(code_of(store.erase(0, "nope")), errc::not_found);
  }

  SUBCASE("put then get returns the value; put overwrites") {
    REQUIRE(!store.put(1, "k", "v1"));
    CHECK_EQ(*store.get(1, "k"), "v1");
    REQUIRE(!store.put(1, "k", "v2"));
    CHECK_EQ(*store.get(1, "k"), "v2");
  }

  SUBCASE("tables are separate") {
    REQUIRE(!store.put(2, "k", "two"));
    REQUIRE(!store.put(3, "k", "three"));
    CHECK_EQ(*store.get(2, "k"), "two");
    CHECK_EQ(*store.get(3, "k"), "three");
    CHECK_EQ(code_of(store.get(4, "k").error()), errc::not_found);
  }

  SUBCASE("values may hold any bytes, including NUL, and be empty") {
    std::string bytes{"a\0b\xff", 4};
    REQUIRE(!store.put(0, "bin", bytes));
    CHECK_EQ(*store.get(0, "bin"), bytes);
    REQUIRE(!store.put(0, "empty", ""));
    CHECK_EQ(*store.get(0, "empty"), "");
  }

  SUBCASE("erase removes the row") {
    REQUIRE(!store.put(0, "k", "v"));
    REQUIRE(!store.erase(0, "k"));
    CHECK_EQ(code_of(store.get(0, "k").error()), errc::not_found);
  }

  SUBCASE("scan returns the rows with the prefix in bytewise order") {
    for (auto key : {"b2", "a", "b1", "b\xff", "c", "b"})
      REQUIRE(!store.put(5, key, std::string{key} + "!"));
    auto rows = store.scan(5, "b");
    REQUIRE(rows);
    CHECK_EQ(keys_of(*rows), "b=b!,b1=b1!,b2=b2!,b\xff=b\xff!");
    CHECK_EQ(keys_of(*store.scan(5, "")),
             "a=a!,b=b!,b1=b1!,b2=b2!,b\xff=b\xff!,c=c!");
    CHECK(store.scan(5, "d")->empty());
    CHECK(store.scan(5, "b3")->empty());
    CHECK(store.scan(6, "")->empty());
  }

  SUBCASE("a batch applies every write in order") {
    REQUIRE(!store.put(7, "old", "x"));
    write_batch batch;
    batch.put(7, "a", "1");
    batch.put(7, "b", "2");
    batch.put(7, "a", "3");
    batch.erase(7, "old");
    batch.erase(7, "never-existed");
    batch.put(8, "c", "4");
    CHECK_EQ(batch.size(), 6u);
    REQUIRE(!store.apply(batch));
    CHECK_EQ(keys_of(*store.scan(7, "")), "a=3,b=2");
    CHECK_EQ(*store.get(8, "c"), "4");
  }

  SUBCASE("an invalid batch changes nothing") {
    write_batch batch;
    batch.put(0, "a", "1");
    batch.put(0, "", "empty key");
    auto err = store.apply(batch);
    CHECK_EQ(code_of(err), errc::storage_error);
    CHECK_EQ(code_of(store.get(0, "a").error()), errc::not_found);
  }

  SUBCASE("bad tables and keys are storage errors") {
    CHECK_EQ(code_of(store.put(gcs_table_count, "k", "v")),
             errc::storage_error);
    CHECK_EQ(code_of(store.scan(gcs_table_count, "").error()),
             errc::storage_error);
    CHECK_EQ(code_of(store.put(0, std::string(max_key_size + 1, 'k'), "v")),
             errc::storage_error);
    CHECK(!store.put(0, std::string(max_key_size, 'k'), "v"));
  }

  SUBCASE("an empty batch is fine") {
    CHECK(!store.apply(write_batch{}));
  }
}
