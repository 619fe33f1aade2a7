// What only the LMDB store promises: durability across reopen, bounded
// growth of its map, stale reader slots cleared, and no use after fork.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "storage/lmdb_kv_store.hpp"
#include "../common/lmdb_reader_child.hpp"
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

TEST_CASE("writes in place apply in their order per key, whatever the keys") {
  // apply(write_view) writes in key order through a cursor; the writes of
  // one key must still take effect in the order given.
  test_directory dir;
  auto store = lmdb_kv_store::open(dir.path(), small_options());
  REQUIRE(store);
  std::string one = "1", two = "2", three = "3", four = "4", five = "5";
  using op = lmdb_kv_store::write_view;
  std::vector<op> ops{
    {0, "m", &one},  {0, "b", &two},   {1, "a", &three}, {0, "m", nullptr},
    {0, "z", &four}, {0, "m", &three}, {0, "c", nullptr}, {0, "b", &five},
    {1, "a", nullptr}, {0, "z", nullptr}, {0, "z", &one}};
  REQUIRE(!(*store)->apply(ops));
  CHECK_EQ(*(*store)->get(0, "m"), "3");
  CHECK_EQ(*(*store)->get(0, "b"), "5");
  CHECK_EQ(*(*store)->get(0, "z"), "1");
  CHECK_EQ(code_of((*store)->get(0, "c").error()), errc::not_found);
  CHECK_EQ(code_of((*store)->get(1, "a").error()), errc::not_found);
  // An erase of a present key, then of a missing one, in a later batch.
  std::vector<op> more{{0, "m", nullptr}, {0, "q", nullptr}, {1, "a", &two}};
  REQUIRE(!(*store)->apply(more));
  CHECK_EQ(code_of((*store)->get(0, "m").error()), errc::not_found);
  CHECK_EQ(*(*store)->get(1, "a"), "2");
  CHECK_EQ((*store)->scan(0, "")->size(), 2u);
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

TEST_CASE("reader slots of a dead process are cleared at open") {
  test_directory dir;
  {
    auto store = lmdb_kv_store::open(dir.path(), small_options());
    REQUIRE(store);
    REQUIRE(!(*store)->put(0, "k", "v"));
    CHECK_EQ((*store)->stale_readers_cleared(), 0u);
    CHECK_EQ((*store)->readers_in_use(), 0u);
  }
  // Forked while no environment is open in this process. Alone, a process
  // opening the environment finds the reader table reset by LMDB itself;
  // the check matters while another process keeps the environment open.
  lmdb_reader_child alive{dir.path()};
  lmdb_reader_child dead{dir.path()};
  REQUIRE(alive.hold());
  REQUIRE(dead.hold());
  dead.die();
  auto store = lmdb_kv_store::open(dir.path(), small_options());
  REQUIRE(store);
  CHECK_EQ((*store)->stale_readers_cleared(), 1u);
  CHECK_EQ((*store)->readers_in_use(), 1u); // the live child's
  CHECK_EQ(*(*store)->get(0, "k"), "v");
}

TEST_CASE("reader slots of a dead process are cleared by later writes") {
  test_directory dir;
  lmdb_reader_child child{dir.path()};
  auto opts = small_options();
  opts.reader_check_interval = std::chrono::milliseconds{0};
  auto res = lmdb_kv_store::open(dir.path(), opts);
  REQUIRE(res);
  auto& store = **res;
  REQUIRE(child.hold());
  CHECK_EQ(store.readers_in_use(), 1u);
  // A live reader is not stale.
  CHECK_EQ(*store.check_readers(), 0u);
  REQUIRE(!store.put(0, "a", "1"));
  CHECK_EQ(store.readers_in_use(), 1u);
  child.die();
  CHECK_EQ(store.readers_in_use(), 1u);
  // The next write transaction checks first.
  REQUIRE(!store.put(0, "b", "2"));
  CHECK_EQ(store.stale_readers_cleared(), 1u);
  CHECK_EQ(store.readers_in_use(), 0u);
}

TEST_CASE("a long reader check interval leaves stale slots to check_readers") {
  test_directory dir;
  lmdb_reader_child child{dir.path()};
  auto opts = small_options();
  opts.reader_check_interval = std::chrono::hours{1};
  auto res = lmdb_kv_store::open(dir.path(), opts);
  REQUIRE(res);
  auto& store = **res;
  REQUIRE(child.hold());
  child.die();
  REQUIRE(!store.put(0, "a", "1"));
  CHECK_EQ(store.readers_in_use(), 1u);
  CHECK_EQ(store.stale_readers_cleared(), 0u);
  CHECK_EQ(*store.check_readers(), 1u);
  CHECK_EQ(store.stale_readers_cleared(), 1u);
  CHECK_EQ(store.readers_in_use(), 0u);
}

TEST_CASE("a forked child cannot use the store, the parent still can") {
  test_directory dir;
  auto res = lmdb_kv_store::open(dir.path(), small_options());
  REQUIRE(res);
  auto store = std::move(*res);
  REQUIRE(!store->put(0, "k", "parent"));
  CHECK_FALSE(store->forked());
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // No doctest here: the exit status carries what failed, one bit each.
    int failed = 0;
    if (!store->forked())
      failed |= 1;
    if (code_of(store->put(0, "k", "child")) != errc::storage_error)
      failed |= 2;
    auto value = store->get(0, "k");
    if (value || code_of(value.error()) != errc::storage_error)
      failed |= 4;
    auto rows = store->scan(0, "");
    if (rows || code_of(rows.error()) != errc::storage_error)
      failed |= 8;
    if (store->check_readers())
      failed |= 16;
    store.reset(); // must leave the parent's environment alone
    _exit(failed);
  }
  int status = -1;
  REQUIRE_EQ(waitpid(pid, &status, 0), pid);
  REQUIRE(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  CHECK_FALSE(store->forked());
  CHECK_EQ(*store->get(0, "k"), "parent");
  REQUIRE(!store->put(0, "k", "parent again"));
  CHECK_EQ(*store->get(0, "k"), "parent again");
  CHECK_EQ(store->readers_in_use(), 0u);
}
