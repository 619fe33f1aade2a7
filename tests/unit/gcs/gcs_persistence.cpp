// Shards on LMDB: data survives a restart, routing across shards, and the
// lifetime of the GCS directory.

#include <doctest/doctest.h>

#include <filesystem>

#include "actor_fixture.hpp"
#include "gcs/gcs_client.hpp"

using namespace cafray;
using namespace cafray::test;
using namespace std::chrono_literals;

namespace {

lmdb_options small_lmdb() {
  lmdb_options opts;
  opts.map_size = size_t{1} << 20;
  opts.max_map_size = size_t{4} << 20;
  opts.sync = false;
  return opts;
}

gcs_shard_options manual_flush() {
  gcs_shard_options opts;
  opts.flush_interval = std::chrono::hours(1);
  return opts;
}

} // namespace

TEST_CASE_FIXTURE(actor_fixture, "a reopened shard has all its data") {
  test_directory dir;
  {
    auto shard = spawn_gcs_shard(*sys, dir.path(), small_lmdb(),
                                 manual_flush());
    REQUIRE(shard);
    put_batch(*shard, gcs_table::nodes, {{"n1", "node one"}});
    CHECK(!flush(*shard));
    put_batch(*shard, gcs_table::nodes, {{"n2", "node two"}});
    // Still pending: the exit must commit it before the shard quits.
    put_batch(*shard, gcs_table::actor_names, {{"counter", "actor 7"}});
    stop(*shard);
  }
  auto shard = spawn_gcs_shard(*sys, dir.path(), small_lmdb(),
                               manual_flush());
  REQUIRE(shard);
  CHECK_EQ(render_rows(*scan(*shard, gcs_table::nodes, "")),
           "n1=node one,n2=node two");
  CHECK_EQ(*get(*shard, gcs_table::actor_names, "counter"), "actor 7");
  stop(*shard);
}

TEST_CASE_FIXTURE(actor_fixture, "a full shard answers puts with gcs_full") {
  test_directory dir;
  lmdb_options tiny = small_lmdb();
  tiny.max_map_size = tiny.map_size;
  gcs_shard_options opts;
  opts.flush_interval = 0us; // commit every write at once
  auto shard = spawn_gcs_shard(*sys, dir.path(), tiny, opts);
  REQUIRE(shard);
  CHECK(!put(*shard, gcs_table::kv, "small", "fits"));
  CHECK_EQ(code_of(put(*shard, gcs_table::kv, "big",
                       std::string(size_t{2} << 20, 'x'))),
           errc::gcs_full);
  CHECK_EQ(code_of(get(*shard, gcs_table::kv, "big").error()),
           errc::not_found);
  CHECK_EQ(*get(*shard, gcs_table::kv, "small"), "fits");
  stop(*shard);
}

TEST_CASE_FIXTURE(actor_fixture, "spawn_gcs routes keys to S shards") {
  runtime_config cfg;
  cfg.gcs_shards = 3;
  cfg.gcs_map_size_mb = 1;
  cfg.gcs_max_map_size_mb = 4;
  cfg.gcs_flush_interval_us = 500;
  auto gcs = spawn_gcs(*sys, cfg);
  REQUIRE(gcs);
  REQUIRE_EQ(gcs->shards().size(), 3u);
  auto dir = gcs->directory();
  CHECK(gcs->temporary());
  for (int i = 0; i < 3; ++i)
    CHECK(std::filesystem::is_directory(dir + "/shard-" + std::to_string(i)));
  size_t per_shard[3] = {0, 0, 0};
  for (int i = 0; i < 30; ++i) {
    auto key = "key-" + std::to_string(i);
    auto index = gcs->index_of(key);
    REQUIRE_LT(index, 3u);
    CHECK_EQ(index, stable_hash(key) % 3);
    ++per_shard[index];
    CHECK(!put(gcs->shard_for(key), gcs_table::kv, key, "v" + key));
  }
  // Every shard got some keys, and each key lives only on its own shard.
  for (auto n : per_shard)
    CHECK_GT(n, 0u);
  for (int i = 0; i < 30; ++i) {
    auto key = "key-" + std::to_string(i);
    for (size_t s = 0; s < 3; ++s) {
      auto value = get(gcs->shards()[s], gcs_table::kv, key);
      if (s == gcs->index_of(key))
        CHECK_EQ(*value, "v" + key);
      else
        CHECK_EQ(code_of(value.error()), errc::not_found);
    }
  }
  gcs->shutdown();
  CHECK(gcs->shards().empty());
  CHECK_FALSE(std::filesystem::exists(dir));
  gcs->shutdown(); // idempotent
}

TEST_CASE_FIXTURE(actor_fixture, "a configured GCS directory survives") {
  test_directory dir;
  runtime_config cfg;
  cfg.gcs_shards = 2;
  cfg.gcs_directory = dir.path() + "/gcs";
  cfg.gcs_map_size_mb = 1;
  {
    auto gcs = spawn_gcs(*sys, cfg);
    REQUIRE(gcs);
    CHECK_FALSE(gcs->temporary());
    for (auto key : {"a", "b", "c", "d"})
      CHECK(!put(gcs->shard_for(key), gcs_table::functions, key, key));
    // The destructor shuts the shards down.
  }
  CHECK(std::filesystem::is_directory(cfg.gcs_directory + "/shard-1"));
  auto gcs = spawn_gcs(*sys, cfg);
  REQUIRE(gcs);
  for (auto key : {"a", "b", "c", "d"})
    CHECK_EQ(*get(gcs->shard_for(key), gcs_table::functions, key), key);
  gcs->shutdown();
  CHECK(std::filesystem::exists(cfg.gcs_directory));
}

TEST_CASE_FIXTURE(actor_fixture, "spawn_gcs rejects bad settings") {
  runtime_config cfg;
  cfg.gcs_shards = 0;
  CHECK_EQ(code_of(spawn_gcs(*sys, cfg).error()), errc::invalid_config);
  cfg.gcs_shards = 1;
  cfg.gcs_map_size_mb = 8;
  cfg.gcs_max_map_size_mb = 4;
  CHECK_EQ(code_of(spawn_gcs(*sys, cfg).error()), errc::invalid_config);
}
