// What only the LMDB store promises: durability across reopen and bounded
// growth of its map.

#include <doctest/doctest.h>

#include <string>

#include "common/error.hpp"
#include "storage/lmdb_kv_store.hpp"
#include "../common/test_directory.hpp"

using namespace cafray;

namespace {

lmdb_options small_options() {
  lmdb_options opts;
  opts.map_size = size_t{256} << 10;
  opts.max_map_size = size_t{1} << 20;
  opts.sync = false;
  return opts;
}

} // namespace

TEST_CASE("lmdb store keeps its data across close and reopen") {
  test_directory dir;
  {
    auto store = lmdb_kv_store::open(dir.path(), small_options());
    REQUIRE(store);
    write_batch batch;
    for (int i = 0; i < 100; ++i)
      batch.put(static_cast<uint8_t>(i % gcs_table_count),
                "key-" + std::to_string(i), "value-" + std::to_string(i));
    REQUIRE(!(*store)->apply(batch));
    REQUIRE(!(*store)->erase(0, "key-0"));
  }
  auto store = lmdb_kv_store::open(dir.path(), small_options());
  REQUIRE(store);
  CHECK_EQ(code_of((*store)->get(0, "key-0").error()), errc::not_found);
  for (int i = 1; i < 100; ++i) {
    auto value = (*store)->get(static_cast<uint8_t>(i % gcs_table_count),
                               "key-" + std::to_string(i));
    REQUIRE(value);
    CHECK_EQ(*value, "value-" + std::to_string(i));
  }
  CHECK_EQ((*store)->scan(1, "key-")->size(), 11u);
}

TEST_CASE("lmdb store grows its map up to the maximum, then is gcs_full") {
  test_directory dir;
  auto opts = small_options();
  auto res = lmdb_kv_store::open(dir.path(), opts);
  REQUIRE(res);
  auto& store = **res;
  CHECK_EQ(store.map_size(), opts.map_size);
  std::string value(4000, 'x');
  caf::error err;
  int written = 0;
  for (; written < 1000; ++written) {
    err = store.put(3, "row-" + std::to_string(written), value);
    if (err)
      break;
  }
  // 1000 rows of 4 KB need ~4 MB: far more than the 1 MiB maximum.
  REQUIRE(err);
  CHECK_EQ(code_of(err), errc::gcs_full);
  CHECK_EQ(store.map_size(), opts.max_map_size);
  // 256 KiB holds ~60 such rows, 1 MiB ~250: the map did grow.
  CHECK_GT(written, 100);
  CHECK_LT(written, 260);
  // Everything acknowledged before is still there, and the store still works.
  for (int i = 0; i < written; ++i)
    REQUIRE(store.get(3, "row-" + std::to_string(i)));
  CHECK_EQ(code_of(store.get(3, "row-" + std::to_string(written)).error()),
           errc::not_found);
  // A batch that cannot fit is rejected as a whole.
  write_batch big;
  big.put(4, "small", "fits");
  for (int i = 0; i < 100; ++i)
    big.put(4, "big-" + std::to_string(i), value);
  CHECK_EQ(code_of(store.apply(big)), errc::gcs_full);
  CHECK_EQ(code_of(store.get(4, "small").error()), errc::not_found);
  // Freeing space makes room again.
  REQUIRE(!store.erase(3, "row-0"));
  REQUIRE(!store.erase(3, "row-1"));
  CHECK(!store.put(4, "small", "fits"));
}

TEST_CASE("a reopened store keeps a map grown past its configured size") {
  test_directory dir;
  auto opts = small_options();
  {
    auto store = lmdb_kv_store::open(dir.path(), opts);
    REQUIRE(store);
    std::string value(4000, 'y');
    for (int i = 0; i < 120; ++i)
      REQUIRE(!(*store)->put(0, "row-" + std::to_string(i), value));
    CHECK_GT((*store)->map_size(), opts.map_size);
  }
  auto store = lmdb_kv_store::open(dir.path(), opts);
  REQUIRE(store);
  CHECK_GT((*store)->map_size(), opts.map_size);
  CHECK_EQ((*store)->scan(0, "row-")->size(), 120u);
}
