// One test per failure of the chain: a dead head, tail or middle replica, a
// replacement joining while writes go on, and a paused replica coming back.

#include <doctest/doctest.h>

#include "chain_checks.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr chain_client_id alice = 100;

std::string key_of(int i) {
  return "k" + std::to_string(i);
}

std::string value_of(int i) {
  return "v" + std::to_string(i);
}

/// Writes k<first>..k<last> and returns their request numbers.
std::vector<uint64_t> write_range(chain_network& net, int first, int last) {
  std::vector<uint64_t> requests;
  for (int i = first; i <= last; ++i)
    requests.push_back(net.write(alice, key_of(i), value_of(i)));
  return requests;
}

/// Every write k<first>..k<last> is acknowledged and readable at the tail.
void check_durable(chain_network& net, int first, int last) {
  for (int i = first; i <= last; ++i) {
    CAPTURE(i);
    CHECK_EQ(read_now(net, alice, key_of(i)), value_of(i));
  }
}

/// Every write was applied once at most, under one sequence number.
void check_applied_once(chain_network& net, replica_id id,
                        const std::vector<uint64_t>& requests) {
  for (auto request : requests) {
    CAPTURE(id);
    CAPTURE(request);
    CHECK_LE(net.store(id).applications(alice, request), 1u);
  }
}

std::vector<uint64_t> concat(std::vector<uint64_t> x,
                             const std::vector<uint64_t>& y) {
  x.insert(x.end(), y.begin(), y.end());
  return x;
}

} // namespace

TEST_CASE("dead head: its successor becomes head, clients retry there") {
  chain_network net(3, 11);
  auto early = write_range(net, 1, 5);
  net.run();
  auto late = write_range(net, 6, 8);
  net.deliver(cli(alice), rep(1));
  CHECK_EQ(net.replica(1).last_applied(), 8u);
  // Only k6 gets past the head before it dies.
  net.deliver(rep(1), rep(2), 1);
  net.kill(1, true);
  CHECK_EQ(net.apply(net.coordinator().remove(1)), chain_repair::head_removed);
  CHECK_EQ(net.coordinator().config().replicas, std::vector<replica_id>{2, 3});
  CHECK_EQ(net.coordinator().config().epoch, 2u);
  net.run();
  CHECK(net.replica(2).is_head());
  auto k6 = net.acked(alice, late[0]);
  REQUIRE(k6);
  CHECK_EQ(k6->first, 3u);
  // k7 and k8 died with the head, unacknowledged: the client retries them
  // at the new head, which numbers them after what it holds.
  CHECK_FALSE(net.acked(alice, late[1]));
  CHECK_FALSE(net.acked(alice, late[2]));
  net.retry_write(alice, late[1]);
  net.retry_write(alice, late[2]);
  net.run();
  for (auto request : late) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 3u);
  }
  CHECK_EQ(net.acked(alice, late[2])->second.seq, 8u);
  check_durable(net, 1, 8);
  CHECK_EQ(digests(net, {2, 3}).size(), 1u);
  for (auto id : {2, 3})
    check_applied_once(net, id, concat(early, late));
}

TEST_CASE("dead tail: its predecessor becomes tail and acknowledges") {
  chain_network net(3, 12);
  write_range(net, 1, 5);
  net.run();
  // k6..k8 reach the middle; the tail dies before it sees them.
  auto late = write_range(net, 6, 8);
  net.deliver(cli(alice), rep(1));
  net.deliver(rep(1), rep(2));
  net.kill(3);
  CHECK_EQ(net.replica(2).last_applied(), 8u);
  CHECK_EQ(net.replica(2).unacked(), std::vector<chain_seq>{6, 7, 8});
  // The tail may still be serving reads somewhere: wait for its lease.
  auto early = net.coordinator().remove(3);
  CHECK_EQ(early.repair, chain_repair::wait_for_lease);
  REQUIRE(early.not_before);
  CHECK_GT(*early.not_before, net.now());
  CHECK_EQ(net.coordinator().config().replicas.size(), 3u);
  net.outlive_leases();
  CHECK_EQ(net.coordinator().expired(), std::vector<replica_id>{3});
  CHECK_EQ(net.apply(net.coordinator().remove(3)), chain_repair::tail_removed);
  net.run();
  CHECK(net.replica(2).is_tail());
  for (auto request : late) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 2u);
  }
  CHECK(net.replica(1).unacked().empty());
  check_durable(net, 1, 8);
  CHECK_EQ(digests(net, {1, 2}).size(), 1u);
}

TEST_CASE("dead middle: the predecessor resends what the successor lacks") {
  chain_network net(3, 13);
  auto requests = write_range(net, 1, 10);
  net.deliver(cli(alice), rep(1));
  // The middle got six writes and passed on three; the rest dies with it.
  CHECK_EQ(net.deliver(rep(1), rep(2), 6), 6u);
  CHECK_EQ(net.deliver(rep(2), rep(3), 3), 3u);
  net.kill(2, true);
  CHECK_EQ(net.replica(3).last_applied(), 3u);
  CHECK_EQ(net.replica(1).unacked().size(), 10u);
  CHECK_EQ(net.apply(net.coordinator().remove(2)),
           chain_repair::middle_removed);
  auto mark = net.deliveries().size();
  net.run();
  // The head resent all ten; the tail skipped the three it had.
  bool resent = false;
  for (size_t i = mark; i < net.deliveries().size(); ++i) {
    auto& x = net.deliveries()[i].envelope;
    auto forward = std::get_if<chain_forward>(&x.payload);
    if (x.from == rep(1) && x.to == rep(3) && forward) {
      REQUIRE_EQ(forward->entries.size(), 10u);
      CHECK_EQ(forward->entries.front().seq, 1u);
      CHECK_EQ(forward->entries.back().seq, 10u);
      resent = true;
    }
  }
  CHECK(resent);
  for (chain_seq seq = 1; seq <= 10; ++seq) {
    CAPTURE(seq);
    CHECK_EQ(net.store(3).applications(seq), 1u);
  }
  CHECK_EQ(net.store(3).total_applications(), 10u);
  for (auto request : requests) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 3u);
  }
  CHECK(net.replica(1).unacked().empty());
  check_durable(net, 1, 10);
  CHECK_EQ(digests(net, {1, 3}).size(), 1u);
}

TEST_CASE("a replacement copies the tail and joins while writes go on") {
  chain_network net(3, 14);
  write_range(net, 1, 5);
  net.run();
  net.kill(2, true);
  net.apply(net.coordinator().remove(2));
  net.run();
  auto fresh = net.add_replica();
  CHECK_EQ(net.apply(net.coordinator().begin_join(fresh)),
           chain_repair::join_started);
  net.hold(rep(3), rep(fresh));
  net.run();
  // The snapshot is on its way; the old tail goes on acknowledging.
  auto during = write_range(net, 6, 8);
  net.run();
  for (auto request : during) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 3u);
  }
  REQUIRE_EQ(net.deliver(rep(3), rep(fresh), 1), 1u);
  CHECK_EQ(net.replica(fresh).last_applied(), 5u);
  net.run();
  CHECK_EQ(net.coordinator().config().replicas,
           std::vector<replica_id>{1, 3, fresh});
  CHECK(net.replica(fresh).is_tail());
  // Until the writes after its snapshot arrive, the new tail serves no read.
  auto early = net.read(alice, key_of(7));
  net.run();
  CHECK_EQ(refusal(*net.answer(alice, early)), chain_refusal::not_ready);
  net.release(rep(3), rep(fresh));
  net.run();
  CHECK(net.replica(fresh).serving_reads());
  auto after = write_range(net, 9, 10);
  net.run();
  for (auto request : after) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, fresh);
  }
  check_durable(net, 1, 10);
  auto stale = net.read(alice, key_of(1), 3);
  net.run();
  CHECK_EQ(refusal(*net.answer(alice, stale)), chain_refusal::not_tail);
  CHECK_EQ(digests(net, {1, 3, fresh}).size(), 1u);
  for (chain_seq seq = 6; seq <= 10; ++seq)
    CHECK_EQ(net.store(fresh).applications(seq), 1u);
  CHECK(net.replica(1).unacked().empty());
  CHECK(net.replica(3).unacked().empty());
}

TEST_CASE("the old tail dies before the replacement caught up") {
  chain_network net(3, 15);
  write_range(net, 1, 5);
  net.run();
  auto fresh = net.add_replica();
  net.apply(net.coordinator().begin_join(fresh));
  net.hold(rep(3), rep(fresh));
  net.run();
  auto during = write_range(net, 6, 8);
  net.run();
  for (auto request : during)
    REQUIRE(net.acked(alice, request));
  // The tail acknowledged k6..k8 to the client but not up the chain: its
  // predecessor still holds them.
  CHECK_EQ(net.replica(2).unacked(), std::vector<chain_seq>{6, 7, 8});
  net.deliver(rep(3), rep(fresh), 1);
  net.run();
  CHECK_EQ(net.coordinator().config().replicas,
           std::vector<replica_id>{1, 2, 3, fresh});
  // The old tail dies with k6..k8 still on their way to the replacement.
  net.kill(3, true);
  CHECK_EQ(net.coordinator().remove(3).repair, chain_repair::wait_for_lease);
  net.outlive_leases();
  CHECK_EQ(net.apply(net.coordinator().remove(3)),
           chain_repair::middle_removed);
  net.run();
  check_durable(net, 1, 8);
  CHECK_EQ(digests(net, {1, 2, fresh}).size(), 1u);
  CHECK(net.replica(2).unacked().empty());
}

TEST_CASE("a replacement that dies before joining is given up") {
  chain_network net(3, 17);
  auto fresh = net.add_replica();
  net.apply(net.coordinator().begin_join(fresh));
  net.hold(rep(3), rep(fresh));
  net.run();
  net.kill(fresh);
  auto requests = write_range(net, 1, 3);
  net.run();
  CHECK_EQ(net.replica(2).unacked(), std::vector<chain_seq>{1, 2, 3});
  CHECK_EQ(net.apply(net.coordinator().remove(fresh)),
           chain_repair::join_cancelled);
  net.run();
  CHECK_FALSE(net.coordinator().joiner());
  CHECK(net.replica(2).unacked().empty());
  CHECK_EQ(net.coordinator().config().replicas.size(), 3u);
  for (auto request : requests)
    CHECK(net.acked(alice, request));
}

TEST_CASE("a paused tail, resumed after its replacement, stays silent") {
  chain_network net(3, 16);
  write_range(net, 1, 5);
  net.run();
  auto epoch = net.coordinator().config().epoch;
  net.pause(3);
  auto mark = net.client_deliveries().size();
  // Writes pile up in front of the paused tail; a stale client reads there.
  auto pending = write_range(net, 6, 7);
  net.read(alice, key_of(6), 3, epoch);
  net.run();
  for (auto request : pending)
    CHECK_FALSE(net.acked(alice, request));
  net.outlive_leases();
  CHECK_EQ(net.apply(net.coordinator().remove(3)), chain_repair::tail_removed);
  net.run();
  for (auto request : pending) {
    auto ack = net.acked(alice, request);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 2u);
  }
  write_range(net, 8, 8);
  net.run();
  // It resumes: its mailbox holds writes and a read of its old epoch, and
  // more requests come from clients that did not notice the change.
  net.resume(3);
  net.read(alice, key_of(8), 3, epoch);
  net.read(alice, key_of(8), 3, epoch + 1);
  net.run();
  net.heartbeat_all();
  net.run();
  CHECK(net.replica(3).retired());
  size_t refusals = 0;
  for (size_t i = mark; i < net.client_deliveries().size(); ++i) {
    auto& x = net.client_deliveries()[i].envelope;
    if (x.from != rep(3))
      continue;
    CAPTURE(payload_name(x.payload));
    CHECK(std::holds_alternative<chain_refused>(x.payload));
    ++refusals;
  }
  CHECK_EQ(refusals, 3u);
  check_durable(net, 1, 8);
  CHECK_EQ(digests(net, {1, 2}).size(), 1u);
}

TEST_CASE("a paused head, resumed after its removal, gets nothing written") {
  chain_network net(3, 18);
  write_range(net, 1, 2);
  net.run();
  auto epoch = net.coordinator().config().epoch;
  net.pause(1);
  // A head that never was tail goes at once: it cannot acknowledge.
  CHECK_EQ(net.apply(net.coordinator().remove(1)), chain_repair::head_removed);
  net.run();
  net.resume(1);
  // A client still on the old configuration writes to the old head, which
  // applies and forwards; the next replica drops the old epoch.
  chain_write_request stale;
  stale.epoch = epoch;
  stale.request = 77;
  stale.write = chain_write{0, "ghost", std::string{"boo"}};
  auto before = net.replica(2).last_applied();
  net.post(net.replica(1).receive(cli(alice), stale));
  net.run();
  CHECK_EQ(net.replica(2).last_applied(), before);
  CHECK_FALSE(net.acked(alice, 77));
  CHECK_EQ(read_now(net, alice, "ghost"), std::nullopt);
}

TEST_CASE("the coordinator's reconfigurations") {
  chain_time now{};
  chain_config config;
  config.shard = 3;
  config.epoch = 1;
  config.replicas = {10, 20, 30, 40};
  chain_coordinator coordinator(config, 50ms, [&now] { return now; });
  auto installs = coordinator.start();
  CHECK_EQ(installs.size(), 4u);
  auto middle = coordinator.remove(20);
  CHECK_EQ(middle.repair, chain_repair::middle_removed);
  CHECK_EQ(middle.config.epoch, 2u);
  CHECK_EQ(middle.config.replicas, std::vector<replica_id>{10, 30, 40});
  auto head = coordinator.remove(10);
  CHECK_EQ(head.repair, chain_repair::head_removed);
  CHECK_EQ(head.config.replicas, std::vector<replica_id>{30, 40});
  CHECK_EQ(coordinator.remove(10).repair, chain_repair::none);
  auto wait = coordinator.remove(40);
  CHECK_EQ(wait.repair, chain_repair::wait_for_lease);
  CHECK_EQ(wait.not_before, now + 50ms);
  CHECK_EQ(coordinator.config().epoch, 3u);
  now += 50ms;
  auto tail = coordinator.remove(40);
  CHECK_EQ(tail.repair, chain_repair::tail_removed);
  CHECK_EQ(tail.config.replicas, std::vector<replica_id>{30});
  CHECK_EQ(tail.config.epoch, 4u);
  // A removed replica that still beats is told to retire.
  auto out = coordinator.receive(rep(40), chain_heartbeat{40, 3, 1});
  REQUIRE_EQ(out.size(), 1u);
  CHECK(std::holds_alternative<chain_retire>(out.front().payload));
  // A member on an old configuration gets the current one with its lease.
  out = coordinator.receive(rep(30), chain_heartbeat{30, 2, 1});
  REQUIRE_EQ(out.size(), 2u);
  CHECK(std::holds_alternative<chain_install>(out[0].payload));
  CHECK(std::holds_alternative<chain_lease>(out[1].payload));
  CHECK_EQ(coordinator.begin_join(50).repair, chain_repair::join_started);
  CHECK_EQ(coordinator.begin_join(60).repair, chain_repair::none);
  now += 50ms;
  auto last = coordinator.remove(30);
  CHECK_EQ(last.repair, chain_repair::shard_lost);
  CHECK(last.config.empty());
  CHECK_FALSE(coordinator.joiner());
}

TEST_CASE("a former tail that installed a configuration as non-tail is "
          "removed at once") {
  chain_time now{};
  chain_config config;
  config.epoch = 1;
  config.replicas = {1, 2};
  chain_coordinator coordinator(config, 50ms, [&now] { return now; });
  coordinator.start();
  auto joining = coordinator.begin_join(3);
  REQUIRE_EQ(joining.repair, chain_repair::join_started);
  coordinator.receive(rep(3), chain_joined{3, 1, 0});
  REQUIRE_EQ(coordinator.config().replicas, std::vector<replica_id>{1, 2, 3});
  // 2 was tail in epoch 1: until it says it runs epoch 2, it may still
  // act as tail, so its removal waits for its lease.
  CHECK_EQ(coordinator.remove(2).repair, chain_repair::wait_for_lease);
  coordinator.receive(rep(2), chain_heartbeat{2, 1, 1});
  CHECK_EQ(coordinator.remove(2).repair, chain_repair::wait_for_lease);
  coordinator.receive(rep(2), chain_heartbeat{2, 2, 2});
  auto removal = coordinator.remove(2);
  CHECK_EQ(removal.repair, chain_repair::middle_removed);
  CHECK_EQ(removal.config.replicas, std::vector<replica_id>{1, 3});
  // The tail itself still waits for its lease.
  coordinator.receive(rep(3), chain_heartbeat{3, 3, 1});
  CHECK_EQ(coordinator.remove(3).repair, chain_repair::wait_for_lease);
}

TEST_CASE("the failure detector blames no member for silence of them all") {
  chain_time now{};
  chain_config config;
  config.epoch = 1;
  config.replicas = {1, 2, 3};
  chain_coordinator coordinator(config, 50ms, [&now] { return now; });
  coordinator.start();
  now += 40ms;
  coordinator.receive(rep(1), chain_heartbeat{1, 1, 1});
  coordinator.receive(rep(3), chain_heartbeat{3, 1, 1});
  now += 20ms;
  // 2 is silent while the others beat: a suspect.
  CHECK_EQ(coordinator.expired(), std::vector<replica_id>{2});
  REQUIRE(coordinator.last_heartbeat(1));
  CHECK_EQ(*coordinator.last_heartbeat(1), chain_time{} + 40ms);
  CHECK_FALSE(coordinator.last_heartbeat(9));
  // Nobody heard for a whole lease: the coordinator was the one cut off.
  now += 100ms;
  CHECK(coordinator.expired().empty());
  // A pause of the coordinator itself extends every lease by its length.
  for (replica_id id : {1, 2, 3})
    coordinator.receive(rep(id), chain_heartbeat{id, 1, 2});
  coordinator.excuse(100ms);
  now += 55ms;
  coordinator.receive(rep(1), chain_heartbeat{1, 1, 3});
  now += 5ms;
  CHECK(coordinator.expired().empty());
  now += 80ms;
  coordinator.receive(rep(1), chain_heartbeat{1, 1, 4});
  now += 20ms;
  CHECK_EQ(coordinator.expired(), (std::vector<replica_id>{2, 3}));
}
