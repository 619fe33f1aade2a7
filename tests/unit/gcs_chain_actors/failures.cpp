// Killing the head, then a middle replica, then the tail of a 3-replica
// chain while 8 clients write and read, with a replacement joining after
// each death: no acknowledged write is lost, every write is applied once,
// the history is linearizable and the replicas end identical.

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "chain_cluster.hpp"
#include "common/error.hpp"
#include "gcs/gcs_chain_endpoint.hpp"
#include "writers.hpp"
#include "../../linearizability/checker.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr size_t clients = 8;
constexpr size_t ops_per_client = 400;
constexpr size_t keys = 40;

/// Waits until the writers recorded `count` operations in all.
void wait_for_ops(history_log& log, size_t count) {
  auto deadline = std::chrono::steady_clock::now() + chain_cluster::timeout;
  while (log.size() < count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
}

/// The test below, with clients that each talk to the chain on their own
/// or that all share one endpoint (gcs/gcs_chain_endpoint.hpp).
void kill_in_turn(bool shared_endpoint) {
  chain_cluster cluster(3);
  auto log = std::make_shared<history_log>();
  gcs_chain_client_options options;
  if (shared_endpoint) {
    options.endpoint = cluster.system().spawn(gcs_chain_endpoint);
    cluster.adopt(caf::actor_cast<caf::actor>(options.endpoint));
  }
  for (uint64_t c = 1; c <= clients; ++c) {
    auto client = cluster.spawn_client(options);
    cluster.adopt(spawn_writer(cluster.system(), client,
                               writer_plan{c, ops_per_client, keys, c * 7919},
                               log));
  }
  auto total = clients * ops_per_client;
  std::vector<replica_id> expected;
  // Kill one position of the chain, let a replacement join at the tail.
  auto kill_and_replace = [&](size_t position, replica_id replacement,
                              size_t after_ops) {
    wait_for_ops(*log, after_ops);
    auto before = cluster.chain();
    REQUIRE_EQ(before.size(), 3u);
    auto victim = before[position];
    MESSAGE("killing replica " << victim << " at position " << position
                               << " after " << log->size() << " ops");
    cluster.kill(victim);
    cluster.spawn_replica(replacement);
    REQUIRE(cluster.wait_for_chain([&](auto& ids) {
      return ids.size() == 3 && ids.back() == replacement;
    }));
    auto after = cluster.chain();
    auto survivors = before;
    survivors.erase(survivors.begin() + position);
    survivors.push_back(replacement);
    CHECK_EQ(after, survivors);
    expected = after;
  };
  kill_and_replace(0, 4, total / 5);
  kill_and_replace(1, 5, 2 * total / 5);
  kill_and_replace(2, 6, 3 * total / 5);
  auto deadline = std::chrono::steady_clock::now() + chain_cluster::timeout;
  while (log->finished < clients && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  REQUIRE_EQ(log->finished.load(), clients);
  CHECK_EQ(log->failures.load(), 0u);
  auto history = log->snapshot();
  REQUIRE_EQ(history.operations.size(), total);
  // Every write was acknowledged and applied exactly once: the sequence
  // numbers end at the number of writes.
  auto writes = log->writes_acked.load();
  REQUIRE(cluster.wait_for_applied(writes));
  std::set<uint64_t> digests;
  for (auto id : cluster.chain()) {
    auto st = cluster.status(id);
    REQUIRE(st);
    CHECK_EQ(st->last_applied, writes);
    digests.insert(st->digest);
  }
  // Head 1 died, then the middle 3, then the tail 5: [2 4 6].
  CHECK_EQ(cluster.chain(), expected);
  CHECK_EQ(expected, (std::vector<replica_id>{2, 4, 6}));
  CHECK_EQ(digests.size(), 1u);
  // Reading every key back ends the history; then it must be linearizable.
  auto reader = cluster.spawn_client();
  for (size_t k = 0; k < keys; ++k) {
    lincheck::operation op;
    op.client = 99;
    op.key = "key-" + std::to_string(k);
    op.kind = lincheck::op_kind::read;
    op.invoke = log->now();
    auto x = cluster.get(reader, 0, op.key);
    REQUIRE(x);
    op.complete = log->now();
    if (x->found)
      op.value = x->value;
    history.operations.push_back(std::move(op));
  }
  auto verdict = lincheck::check(history);
  CHECK_MESSAGE(verdict.ok(), verdict.key << ": " << verdict.explanation);
  CHECK_EQ(verdict.operations, total + keys);
  CHECK_EQ(verdict.keys, keys);
}

} // namespace

TEST_CASE("head, middle and tail die in turn; replacements join") {
  kill_in_turn(false);
}

TEST_CASE("the same with all clients on one endpoint") {
  kill_in_turn(true);
}
