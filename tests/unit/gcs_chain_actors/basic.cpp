// A chain of replica actors in one process: the paths without failures,
// refusals that reach the caller as typed errors, and a whole restart.

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <thread>

#include "chain_cluster.hpp"
#include "common/error.hpp"
#include "gcs/chain_codec.hpp"
#include "gcs/gcs_chain_endpoint.hpp"
#include "storage/lmdb_kv_store.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

/// Writes key-i = value-i for i < n, one at a time; write i is number i + 1.
void put_keys(chain_cluster& cluster, const gcs_chain_client_actor& client,
              int n) {
  for (int i = 0; i < n; ++i)
    REQUIRE_EQ(cluster.put(client, 0, "key-" + std::to_string(i),
                           "value-" + std::to_string(i)),
               uint64_t(i + 1));
}

} // namespace

TEST_CASE("writes go through the chain, reads come from the tail") {
  chain_cluster cluster(3);
  CHECK_EQ(cluster.config().epoch, 1u);
  auto client = cluster.spawn_client();
  CHECK_EQ(cluster.put(client, 0, "k1", "v1"), uint64_t{1});
  CHECK_EQ(cluster.put(client, 2, "k2", "v2"), uint64_t{2});
  CHECK_EQ(cluster.erase(client, 0, "k1"), uint64_t{3});
  auto k1 = cluster.get(client, 0, "k1");
  REQUIRE(k1);
  CHECK_FALSE(k1->found);
  CHECK_EQ(k1->seq, 3u);
  auto k2 = cluster.get(client, 2, "k2");
  REQUIRE(k2);
  CHECK(k2->found);
  CHECK_EQ(k2->value, "v2");
  // Table 2, not 0.
  auto other = cluster.get(client, 0, "k2");
  REQUIRE(other);
  CHECK_FALSE(other->found);
  REQUIRE(cluster.wait_for_applied(3));
  std::set<uint64_t> digests;
  for (replica_id id : {1, 2, 3}) {
    auto st = cluster.status(id);
    REQUIRE(st);
    CHECK_EQ(st->last_applied, 3u);
    CHECK(st->member);
    CHECK_EQ(st->chain, std::vector<uint64_t>{1, 2, 3});
    CHECK_EQ(st->tail, id == 3);
    digests.insert(st->digest);
  }
  CHECK_EQ(digests.size(), 1u);
}

TEST_CASE("a row the shard cannot hold fails with storage_error") {
  chain_cluster cluster(2);
  auto client = cluster.spawn_client();
  auto bad_table = cluster.put(client, 200, "k", "v");
  REQUIRE_FALSE(bad_table);
  CHECK_EQ(code_of(bad_table.error()), errc::storage_error);
  auto long_key = cluster.put(client, 0, std::string(600, 'k'), "v");
  REQUIRE_FALSE(long_key);
  CHECK_EQ(code_of(long_key.error()), errc::storage_error);
  // Nothing was applied; the next write is number 1.
  CHECK_EQ(cluster.put(client, 0, "k", "v"), uint64_t{1});
}

TEST_CASE("many writes of one client in flight are applied once each") {
  chain_cluster cluster(3);
  auto client = cluster.spawn_client();
  auto& sys = cluster.system();
  caf::scoped_actor self{sys};
  constexpr size_t n = 500;
  size_t acked = 0;
  std::set<uint64_t> seqs;
  for (size_t i = 0; i < n; ++i)
    self->send(client, put_atom_v, uint8_t{1}, "key-" + std::to_string(i),
               "value-" + std::to_string(i));
  for (size_t i = 0; i < n; ++i)
    self->receive([&](uint64_t seq) { ++acked, seqs.insert(seq); },
                  [&](caf::error& err) { FAIL(render(err)); },
                  caf::after(chain_cluster::timeout) >> [&] { FAIL("timeout"); });
  CHECK_EQ(acked, n);
  CHECK_EQ(seqs.size(), n);
  CHECK_EQ(*seqs.begin(), 1u);
  CHECK_EQ(*seqs.rbegin(), n);
  REQUIRE(cluster.wait_for_applied(n));
  for (replica_id id : {1, 2, 3})
    CHECK_EQ(cluster.status(id)->last_applied, n);
}

TEST_CASE("restarting every replica and the coordinator loses nothing") {
  chain_cluster cluster(3);
  constexpr int n = 200;
  put_keys(cluster, cluster.spawn_client(), n);
  auto epoch = cluster.config().epoch;
  cluster.restart_all();
  REQUIRE(cluster.wait_for_chain(
    [](auto& ids) { return ids == std::vector<replica_id>{1, 2, 3}; }));
  // The coordinator went on from its saved configuration.
  CHECK_EQ(cluster.config().epoch, epoch + 1);
  auto client = cluster.spawn_client();
  for (int i = 0; i < n; ++i) {
    auto x = cluster.get(client, 0, "key-" + std::to_string(i));
    REQUIRE(x);
    CHECK(x->found);
    CHECK_EQ(x->value, "value-" + std::to_string(i));
  }
  CHECK_EQ(cluster.put(client, 0, "after", "restart"), uint64_t{n + 1});
  REQUIRE(cluster.wait_for_applied(n + 1));
  std::set<uint64_t> digests;
  for (replica_id id : {1, 2, 3})
    digests.insert(cluster.status(id)->digest);
  CHECK_EQ(digests.size(), 1u);
}

TEST_CASE("replicas write the rows of what they applied without a restart") {
  chain_cluster cluster(2);
  constexpr int n = 100;
  put_keys(cluster, cluster.spawn_client(), n);
  // A replica writes the rows in a turn after the one that committed the
  // log record and forwarded. No status request meanwhile: it writes them
  // too.
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  for (replica_id id : {1, 2})
    cluster.kill(id);
  for (replica_id id : {1, 2}) {
    CAPTURE(id);
    // The environment as it is, without the chain store, which would write
    // rows the log holds past the tables' mark when it opens.
    lmdb_options opts;
    opts.sync = false;
    opts.tables = gcs_table_count + 4;
    auto kv = lmdb_kv_store::open(cluster.directory(id), opts);
    REQUIRE(kv);
    for (int i = 0; i < n; ++i)
      CHECK_EQ((*kv)->get(0, "key-" + std::to_string(i)),
               "value-" + std::to_string(i));
    auto mark = (*kv)->get(gcs_table_count, "rows_at");
    REQUIRE(mark);
    chain_seq rows_at = 0;
    REQUIRE(decode_seq_key(*mark, rows_at));
    CHECK_EQ(rows_at, chain_seq{n});
  }
}

TEST_CASE("clients on one endpoint are each answered, every write once") {
  chain_cluster cluster(3);
  auto& sys = cluster.system();
  gcs_chain_client_options options;
  options.endpoint = sys.spawn(gcs_chain_endpoint);
  cluster.adopt(caf::actor_cast<caf::actor>(options.endpoint));
  std::vector<gcs_chain_client_actor> clients;
  for (chain_client_id id = 1; id <= 3; ++id) {
    options.id = id;
    clients.push_back(cluster.spawn_client(options));
  }
  caf::scoped_actor self{sys};
  constexpr size_t n = 200;
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < clients.size(); ++c)
      self->send(clients[c], put_atom_v, uint8_t{1},
                 "key-" + std::to_string(c) + "-" + std::to_string(i), "v");
  std::set<uint64_t> seqs;
  for (size_t i = 0; i < n * clients.size(); ++i)
    self->receive([&](uint64_t seq) { seqs.insert(seq); },
                  [&](caf::error& err) { FAIL(render(err)); },
                  caf::after(chain_cluster::timeout) >> [&] { FAIL("timeout"); });
  // One answer per write, each its own sequence number: nothing applied
  // twice, nothing answered to the wrong client.
  CHECK_EQ(seqs.size(), n * clients.size());
  CHECK_EQ(*seqs.rbegin(), n * clients.size());
  REQUIRE(cluster.wait_for_applied(n * clients.size()));
  std::set<uint64_t> digests;
  for (replica_id id : {1, 2, 3}) {
    auto st = cluster.status(id);
    REQUIRE(st);
    CHECK_EQ(st->last_applied, n * clients.size());
    digests.insert(st->digest);
  }
  CHECK_EQ(digests.size(), 1u);
  auto x = cluster.get(clients[2], 1, "key-0-7");
  REQUIRE(x);
  CHECK(x->found);
  CHECK_EQ(x->value, "v");
}
