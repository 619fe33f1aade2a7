// Shards as chains (gcs_replicas > 1) behind the gcs_actor interface: the
// same answers as a single shard, surviving dead replicas, and a restart
// from a configured directory.

#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "actor_fixture.hpp"
#include "gcs/gcs_client.hpp"

using namespace cafray;
using namespace cafray::test;
using namespace std::chrono_literals;

namespace {

runtime_config replicated(uint32_t shards, uint32_t replicas) {
  runtime_config cfg;
  cfg.gcs_shards = shards;
  cfg.gcs_replicas = replicas;
  cfg.gcs_map_size_mb = 1;
  cfg.gcs_max_map_size_mb = 64;
  return cfg;
}

std::vector<kv_entry> numbered_rows(const std::string& prefix, int from,
                                    int to) {
  std::vector<kv_entry> rows;
  for (int i = from; i < to; ++i)
    rows.push_back(kv_entry{prefix + std::to_string(1000 + i),
                            "value-" + std::to_string(i)});
  return rows;
}

struct replicated_fixture : actor_fixture {
  caf::expected<wire::chain_replica_status>
  status(const gcs_replica_actor& replica) {
    caf::expected<wire::chain_replica_status> result
      = make_error(errc::timeout);
    (*self)
      ->request(replica, timeout, stats_atom_v)
      .receive([&](wire::chain_replica_status& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Waits until the coordinator's chain has `size` members; their ids.
  std::vector<uint64_t> wait_for_chain(const gcs_coordinator_actor& coord,
                                       size_t size) {
    std::vector<uint64_t> ids;
    for (int attempt = 0; attempt < 400; ++attempt) {
      ids.clear();
      (*self)
        ->request(coord, timeout, get_atom_v)
        .receive(
          [&](wire::chain_configuration& config) {
            for (auto& member : config.members)
              ids.push_back(member.replica);
          },
          [&](caf::error&) {});
      if (ids.size() == size)
        return ids;
      std::this_thread::sleep_for(25ms);
    }
    return ids;
  }

  /// Waits until the coordinator's chain is `ids`; the chain it saw last.
  std::vector<uint64_t> wait_for_members(const gcs_coordinator_actor& coord,
                                         const std::vector<uint64_t>& ids) {
    std::vector<uint64_t> seen;
    for (int attempt = 0; attempt < 400; ++attempt) {
      seen.clear();
      for (auto& handle : members(coord))
        if (auto st = status(handle))
          seen.push_back(st->replica);
      // As the coordinator says, and as every member has installed.
      if (seen == ids && chain_ids(coord) == ids)
        return seen;
      std::this_thread::sleep_for(25ms);
    }
    return chain_ids(coord);
  }

  /// The members of the coordinator's configuration.
  std::vector<gcs_replica_actor> members(const gcs_coordinator_actor& coord) {
    std::vector<gcs_replica_actor> result;
    (*self)
      ->request(coord, timeout, get_atom_v)
      .receive(
        [&](wire::chain_configuration& config) {
          for (auto& member : config.members)
            result.push_back(member.handle);
        },
        [&](caf::error&) {});
    return result;
  }

  std::vector<uint64_t> chain_ids(const gcs_coordinator_actor& coord) {
    std::vector<uint64_t> result;
    (*self)
      ->request(coord, timeout, get_atom_v)
      .receive(
        [&](wire::chain_configuration& config) {
          for (auto& member : config.members)
            result.push_back(member.replica);
        },
        [&](caf::error&) {});
    return result;
  }

  /// Waits until every live replica of the chain applied the same writes
  /// and holds the same rows; their common digest.
  uint64_t converged_digest(const std::vector<gcs_replica_actor>& replicas,
                            const std::set<size_t>& live) {
    for (int attempt = 0; attempt < 400; ++attempt) {
      std::set<std::pair<uint64_t, uint64_t>> seen;
      for (auto i : live)
        if (auto st = status(replicas[i]))
          seen.emplace(st->last_applied, st->digest);
      if (seen.size() == 1)
        return seen.begin()->second;
      std::this_thread::sleep_for(25ms);
    }
    return 0;
  }
};

} // namespace

TEST_CASE_FIXTURE(replicated_fixture,
                  "a replicated shard answers like a single one") {
  auto gcs = spawn_gcs(*sys, replicated(2, 3));
  REQUIRE(gcs);
  REQUIRE_EQ(gcs->shards().size(), 2u);
  REQUIRE_EQ(gcs->chains().size(), 2u);
  for (int i = 0; i < 2; ++i) {
    CHECK_EQ(gcs->chains()[i].shard, gcs->shards()[i]);
    CHECK_EQ(gcs->chains()[i].replicas.size(), 3u);
    for (int j = 1; j <= 3; ++j)
      CHECK(std::filesystem::is_directory(gcs->directory() + "/shard-"
                                          + std::to_string(i) + "/replica-"
                                          + std::to_string(j)));
  }
  auto& shard = gcs->shards()[0];
  // Acknowledged writes, reads and deletes.
  CHECK(!put(shard, gcs_table::kv, "a", "1"));
  CHECK_EQ(*get(shard, gcs_table::kv, "a"), "1");
  CHECK(!put(shard, gcs_table::kv, "a", "2"));
  CHECK_EQ(*get(shard, gcs_table::kv, "a"), "2");
  CHECK(!erase(shard, gcs_table::kv, "a"));
  CHECK_EQ(code_of(get(shard, gcs_table::kv, "a").error()), errc::not_found);
  CHECK_EQ(code_of(put(shard, gcs_table::kv, "", "x")), errc::storage_error);
  // Batched writes are read back at once: a read waits for the chain.
  put_batch(shard, gcs_table::tasks, numbered_rows("t", 0, 300));
  CHECK_EQ(*get(shard, gcs_table::tasks, "t1299"), "value-299");
  auto rows = scan(shard, gcs_table::tasks, "t1");
  REQUIRE(rows);
  REQUIRE_EQ(rows->size(), 300u);
  CHECK_EQ(rows->front().key, "t1000");
  CHECK_EQ(rows->back().value, "value-299");
  CHECK_EQ(scan(shard, gcs_table::tasks, "t11")->size(), 100u);
  CHECK(!flush(shard));
  // Subscribers hear of a write once the tail applied it.
  auto me = caf::actor_cast<caf::actor>(*self);
  caf::anon_send(shard, subscribe_atom_v,
                 static_cast<uint8_t>(gcs_table::objects), std::string{"o1"},
                 me);
  put_batch(shard, gcs_table::objects, {{"o1", "ready"}});
  std::string heard;
  (*self)->receive(
    [&](notify_atom, uint8_t table, const std::string& key,
        const std::string& value) {
      CHECK_EQ(table, static_cast<uint8_t>(gcs_table::objects));
      heard = key + "=" + value;
    },
    caf::after(timeout) >> [] {});
  CHECK_EQ(heard, "o1=ready");
  // Every replica of the chain holds the same rows.
  auto& chain = gcs->chains()[0];
  auto digest = converged_digest(chain.replicas, {0, 1, 2});
  CHECK_NE(digest, 0u);
  auto tail = status(chain.replicas[2]);
  REQUIRE(tail);
  CHECK(tail->tail);
  CHECK_EQ(tail->chain, std::vector<uint64_t>{1, 2, 3});
  // Two puts and a delete (the empty key never reached the chain), 300
  // tasks, one object.
  CHECK_EQ(tail->last_applied, 304u);
  gcs->shutdown();
}

TEST_CASE_FIXTURE(replicated_fixture,
                  "a replicated shard replaces dead replicas, losing nothing") {
  auto gcs = spawn_gcs(*sys, replicated(1, 3));
  REQUIRE(gcs);
  auto& shard = gcs->shards()[0];
  auto& chain = gcs->chains()[0];
  put_batch(shard, gcs_table::tasks, numbered_rows("t", 0, 200));
  // The head dies with writes on their way; replica 4 replaces it, copying
  // the state and joining at the tail.
  caf::anon_send_exit(chain.replicas[0], caf::exit_reason::kill);
  put_batch(shard, gcs_table::tasks, numbered_rows("t", 200, 400));
  CHECK(!put(shard, gcs_table::kv, "after-head", "yes"));
  CHECK_EQ(wait_for_members(chain.coordinator, {2, 3, 4}),
           (std::vector<uint64_t>{2, 3, 4}));
  // Then a middle replica: 5 replaces it.
  put_batch(shard, gcs_table::tasks, numbered_rows("t", 400, 600));
  caf::anon_send_exit(chain.replicas[2], caf::exit_reason::kill);
  put_batch(shard, gcs_table::tasks, numbered_rows("t", 600, 800));
  CHECK(!flush(shard));
  CHECK_EQ(wait_for_members(chain.coordinator, {2, 4, 5}),
           (std::vector<uint64_t>{2, 4, 5}));
  // Then the tail, itself a replacement: 6 replaces it once its lease ran
  // out.
  auto replacements = chain.replacements->get();
  REQUIRE_EQ(replacements.size(), 2u);
  caf::anon_send_exit(replacements[1], caf::exit_reason::kill);
  CHECK(!put(shard, gcs_table::kv, "after-tail", "yes"));
  CHECK_EQ(wait_for_members(chain.coordinator, {2, 4, 6}),
           (std::vector<uint64_t>{2, 4, 6}));
  CHECK_EQ(chain.replacements->get().size(), 3u);
  CHECK_EQ(*get(shard, gcs_table::kv, "after-head"), "yes");
  CHECK_EQ(*get(shard, gcs_table::kv, "after-tail"), "yes");
  auto rows = scan(shard, gcs_table::tasks, "");
  REQUIRE(rows);
  CHECK_EQ(rows->size(), 800u);
  CHECK_EQ(rows->back().key, "t1799");
  // Every member holds the same 802 writes (800 rows, 2 keys).
  auto handles = members(chain.coordinator);
  REQUIRE_EQ(handles.size(), 3u);
  CHECK_NE(converged_digest(handles, {0, 1, 2}), 0u);
  for (auto& handle : handles) {
    auto st = status(handle);
    REQUIRE(st);
    CHECK_EQ(st->last_applied, 802u);
    CHECK_EQ(st->chain, (std::vector<uint64_t>{2, 4, 6}));
  }
  gcs->shutdown();
}

TEST_CASE_FIXTURE(replicated_fixture,
                  "a restart from a configured directory recovers a chain") {
  test_directory dir;
  auto cfg = replicated(1, 3);
  cfg.gcs_directory = dir.path() + "/gcs";
  {
    auto gcs = spawn_gcs(*sys, cfg);
    REQUIRE(gcs);
    auto& shard = gcs->shards()[0];
    for (int i = 0; i < 20; ++i)
      CHECK(!put(shard, gcs_table::actors, "actor-" + std::to_string(i),
                 std::to_string(i)));
    put_batch(shard, gcs_table::tasks, numbered_rows("t", 0, 500));
    // One replica is lost before the shutdown: replica 4 replaces it.
    caf::anon_send_exit(gcs->chains()[0].replicas[1], caf::exit_reason::kill);
    CHECK_EQ(wait_for_members(gcs->chains()[0].coordinator, {1, 3, 4}),
             (std::vector<uint64_t>{1, 3, 4}));
    put_batch(shard, gcs_table::tasks, numbered_rows("t", 500, 600));
    CHECK(!flush(shard));
    // The shutdown stops every replica.
  }
  CHECK(std::filesystem::exists(cfg.gcs_directory + "/shard-0/chain.state"));
  auto gcs = spawn_gcs(*sys, cfg);
  REQUIRE(gcs);
  auto& shard = gcs->shards()[0];
  auto tasks = scan(shard, gcs_table::tasks, "");
  REQUIRE(tasks);
  CHECK_EQ(tasks->size(), 600u);
  auto actors = scan(shard, gcs_table::actors, "actor-");
  REQUIRE(actors);
  CHECK_EQ(actors->size(), 20u);
  CHECK_EQ(*get(shard, gcs_table::actors, "actor-19"), "19");
  // The chain resumes as it was: its replacement included.
  auto& chain = gcs->chains()[0];
  CHECK_EQ(wait_for_members(chain.coordinator, {1, 3, 4}),
           (std::vector<uint64_t>{1, 3, 4}));
  CHECK_NE(converged_digest(chain.replicas, {0, 1, 2}), 0u);
  gcs->shutdown();
  // A directory of one layout is refused with the other.
  cfg.gcs_replicas = 1;
  CHECK_EQ(code_of(spawn_gcs(*sys, cfg).error()), errc::invalid_config);
  cfg.gcs_replicas = 2;
  CHECK_EQ(code_of(spawn_gcs(*sys, cfg).error()), errc::invalid_config);
  cfg.gcs_directory = dir.path() + "/single";
  cfg.gcs_replicas = 1;
  REQUIRE(spawn_gcs(*sys, cfg));
  cfg.gcs_replicas = 3;
  CHECK_EQ(code_of(spawn_gcs(*sys, cfg).error()), errc::invalid_config);
}
