// Restarting every replica at once, and the store's refusals: what the log
// and the retry table kept on "disk" (a memory store that outlives its
// replica) must be enough to lose no write and apply no retry twice.

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

} // namespace

TEST_CASE("whole restart: the head's unacknowledged writes reach every "
          "replica") {
  chain_network net(3, 21);
  std::vector<uint64_t> requests;
  for (int i = 1; i <= 5; ++i)
    requests.push_back(net.write(alice, key_of(i), value_of(i)));
  net.run();
  // Writes 6..10 stop at the head; then everything stops at once.
  net.hold(rep(1), rep(2));
  for (int i = 6; i <= 10; ++i)
    requests.push_back(net.write(alice, key_of(i), value_of(i)));
  net.run();
  REQUIRE_EQ(net.replica(1).last_applied(), 10u);
  REQUIRE_EQ(net.replica(2).last_applied(), 5u);
  REQUIRE_EQ(net.store(1).recover().log.size(), 5u);
  REQUIRE(!net.acked(alice, requests[5]));
  net.restart_all();
  // The restarted head resent its log: the chain is whole again, and the
  // tail acknowledged the writes to the client.
  for (replica_id id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK_EQ(net.replica(id).last_applied(), 10u);
    CHECK(net.replica(id).unacked().empty());
  }
  for (int i = 6; i <= 10; ++i) {
    auto ack = net.acked(alice, requests[i - 1]);
    REQUIRE(ack);
    CHECK_EQ(ack->first, 3u);
    CHECK_EQ(ack->second.seq, static_cast<chain_seq>(i));
  }
  for (int i = 1; i <= 10; ++i)
    CHECK_EQ(read_now(net, alice, key_of(i)), value_of(i));
  // New writes continue the sequence everywhere.
  auto next = net.write(alice, key_of(11), value_of(11));
  net.run();
  REQUIRE(net.acked(alice, next));
  CHECK_EQ(net.acked(alice, next)->second.seq, 11u);
  CHECK_EQ(digests(net, {1, 2, 3}).size(), 1u);
  for (replica_id id : {1, 2, 3})
    CHECK_EQ(net.store(id).total_applications(), 11u);
}

TEST_CASE("whole restart: a retry of a write applied before is applied "
          "once") {
  chain_network net(3, 22);
  // The tail's acknowledgement never reaches the client.
  net.hold(rep(3), cli(alice));
  auto request = net.write(alice, "x", "1");
  net.run();
  REQUIRE_EQ(net.replica(3).last_applied(), 1u);
  net.restart_all();
  net.retry_write(alice, request);
  net.run();
  auto ack = net.acked(alice, request);
  REQUIRE(ack);
  CHECK_EQ(ack->second.seq, 1u);
  for (replica_id id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK_EQ(net.store(id).applications(alice, request), 1u);
    CHECK_EQ(net.replica(id).last_applied(), 1u);
  }
  CHECK_EQ(read_now(net, alice, "x"), "1");
}

TEST_CASE("whole restart: the retry table forgets what clients know") {
  chain_network net(2, 23);
  auto first = net.write(alice, "a", "1");
  net.run();
  REQUIRE(net.acked(alice, first));
  auto second = net.write(alice, "b", "2");
  net.run();
  REQUIRE(net.acked(alice, second));
  // The second write told the shard that request 1 is answered.
  auto durable = net.store(1).recover();
  REQUIRE_EQ(durable.clients.count(alice), 1u);
  CHECK_EQ(durable.clients[alice].oldest_pending, second);
  CHECK_EQ(durable.clients[alice].applied,
           (std::map<uint64_t, chain_seq>{{second, 2}}));
  // Acknowledged writes left the log.
  CHECK(durable.log.empty());
  CHECK_EQ(durable.trimmed, 2u);
}

TEST_CASE("a full head refuses the write and goes on serving") {
  chain_network net(3, 24);
  net.store(1).fail_next_apply(true);
  auto refused = net.write(alice, "a", "1");
  net.run();
  auto answer = net.answer(alice, refused);
  REQUIRE(answer);
  CHECK_EQ(refusal(*answer), chain_refusal::full);
  CHECK(!net.replica(1).retired());
  CHECK_EQ(net.replica(1).last_applied(), 0u);
  auto accepted = net.write(alice, "b", "2");
  net.run();
  REQUIRE(net.acked(alice, accepted));
  CHECK_EQ(net.acked(alice, accepted)->second.seq, 1u);
  CHECK_EQ(read_now(net, alice, "a"), std::nullopt);
  CHECK_EQ(read_now(net, alice, "b"), "2");
  CHECK_EQ(digests(net, {1, 2, 3}).size(), 1u);
}

TEST_CASE("a head refuses a write its store cannot hold") {
  chain_network net(2, 25);
  net.store(1).limit_key_size(4);
  auto refused = net.write(alice, "too-long", "1");
  net.run();
  auto answer = net.answer(alice, refused);
  REQUIRE(answer);
  CHECK_EQ(refusal(*answer), chain_refusal::invalid);
  CHECK_EQ(net.replica(1).last_applied(), 0u);
  CHECK_EQ(net.replica(2).last_applied(), 0u);
  CHECK(!net.replica(1).retired());
}

TEST_CASE("a batch of writes is one transaction; retries in it are not "
          "applied again") {
  chain_network net(3, 26);
  auto epoch = net.coordinator().config().epoch;
  auto request = [epoch](uint64_t number, std::string key) {
    chain_write_request msg;
    msg.epoch = epoch;
    msg.request = number;
    msg.oldest_pending = 1;
    msg.write = chain_write{0, std::move(key), "v" + std::to_string(number)};
    return msg;
  };
  net.post(net.replica(1).receive_writes(
    cli(alice), {request(1, "a"), request(2, "b"), request(2, "b"),
                 request(3, "c")}));
  net.run();
  for (replica_id id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK_EQ(net.store(id).transactions(), 1u);
    CHECK_EQ(net.store(id).total_applications(), 3u);
  }
  // The same batch again, with one new write: only that one is applied.
  net.post(net.replica(1).receive_writes(
    cli(alice), {request(1, "a"), request(2, "b"), request(4, "d")}));
  net.run();
  for (replica_id id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK_EQ(net.store(id).transactions(), 2u);
    CHECK_EQ(net.store(id).total_applications(), 4u);
  }
  CHECK_EQ(read_now(net, alice, "d"), "v4");
  // A batch at a replica that is not the head is refused write by write.
  auto refused = net.replica(2).receive_writes(
    cli(alice), {request(5, "e"), request(6, "f")});
  REQUIRE_EQ(refused.size(), 2u);
  for (auto& envelope : refused) {
    auto x = std::get_if<chain_refused>(&envelope.payload);
    REQUIRE(x != nullptr);
    CHECK_EQ(x->reason, chain_refusal::not_head);
  }
}

TEST_CASE("writes of several clients are one transaction; each client gets "
          "its own answers") {
  chain_network net(3, 27);
  constexpr chain_client_id bob = 200;
  auto epoch = net.coordinator().config().epoch;
  auto request = [epoch](uint64_t number, std::string key) {
    chain_write_request msg;
    msg.epoch = epoch;
    msg.request = number;
    msg.oldest_pending = 1;
    msg.write = chain_write{0, std::move(key), "v" + std::to_string(number)};
    return msg;
  };
  // Both clients number their requests from 1: the same number from two
  // clients is two writes, the same one from one client twice is one.
  chain_replica::client_writes batches{
    {cli(alice), {request(1, "a1"), request(2, "a2")}},
    {cli(bob), {request(1, "b1"), request(1, "b1")}},
    {cli(alice), {request(2, "a2"), request(3, "a3")}},
  };
  net.post(net.replica(1).receive_writes(batches));
  net.run();
  for (replica_id id : {1, 2, 3}) {
    CAPTURE(id);
    CHECK_EQ(net.store(id).transactions(), 1u);
    CHECK_EQ(net.store(id).total_applications(), 4u);
  }
  for (uint64_t number : {1, 2, 3})
    CHECK(net.acked(alice, number));
  CHECK(net.acked(bob, 1));
  CHECK_EQ(read_now(net, alice, "a3"), "v3");
  CHECK_EQ(read_now(net, bob, "b1"), "v1");
  // Sent again together with a new write of bob: only that one is applied.
  net.post(net.replica(1).receive_writes(chain_replica::client_writes{
    {cli(alice), {request(1, "a1"), request(3, "a3")}},
    {cli(bob), {request(1, "b1"), request(2, "b2")}},
  }));
  net.run();
  CHECK_EQ(net.store(3).transactions(), 2u);
  CHECK_EQ(net.store(3).total_applications(), 5u);
  // A replica that is not the head refuses every write of every client.
  auto refused = net.replica(2).receive_writes(chain_replica::client_writes{
    {cli(alice), {request(4, "a4")}}, {cli(bob), {request(3, "b3")}}});
  REQUIRE_EQ(refused.size(), 2u);
  CHECK_EQ(refused[0].to, cli(alice));
  CHECK_EQ(refused[1].to, cli(bob));
}
