// The chain without failures: ordering, acknowledgement, reads, duplicates,
// gaps and the epoch rules, driven through the in-test network.

#include <doctest/doctest.h>

#include "chain_checks.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr chain_client_id alice = 100;

chain_entry entry(chain_seq seq, std::string key, std::string value) {
  chain_entry result;
  result.seq = seq;
  result.client = alice;
  result.request = seq;
  result.write = chain_write{0, std::move(key), std::move(value)};
  return result;
}

} // namespace

TEST_CASE("only the tail acknowledges, only the tail serves reads") {
  chain_network net(3, 1);
  REQUIRE_EQ(net.coordinator().config().replicas,
             std::vector<replica_id>{1, 2, 3});
  auto request = net.write(alice, "a", "1");
  // Step by step: the head applies and forwards, nobody acknowledges.
  REQUIRE_EQ(net.deliver(cli(alice), rep(1)), 1u);
  CHECK_EQ(net.replica(1).last_applied(), 1u);
  CHECK_EQ(net.replica(1).unacked(), std::vector<chain_seq>{1});
  CHECK(net.client_deliveries().empty());
  REQUIRE_EQ(net.deliver(rep(1), rep(2)), 1u);
  CHECK_EQ(net.replica(2).last_applied(), 1u);
  CHECK(net.client_deliveries().empty());
  REQUIRE_EQ(net.deliver(rep(2), rep(3)), 1u);
  CHECK_EQ(net.replica(3).last_applied(), 1u);
  net.run();
  auto ack = net.acked(alice, request);
  REQUIRE(ack);
  CHECK_EQ(ack->first, 3u);
  CHECK_EQ(ack->second.seq, 1u);
  // The acknowledgement came back up: nobody holds the write any more.
  CHECK(net.replica(1).unacked().empty());
  CHECK(net.replica(2).unacked().empty());
  CHECK_EQ(net.replica(1).acked(), 1u);
  // Reads: refused by head and middle, served by the tail.
  auto at_head = net.read(alice, "a", 1);
  auto at_middle = net.read(alice, "a", 2);
  auto at_tail = net.read(alice, "a");
  net.run();
  CHECK_EQ(refusal(*net.answer(alice, at_head)), chain_refusal::not_tail);
  CHECK_EQ(refusal(*net.answer(alice, at_middle)), chain_refusal::not_tail);
  CHECK_EQ(read_value(*net.answer(alice, at_tail)), "1");
  // Writes sent to a replica other than the head are refused.
  chain_write_request stray;
  stray.epoch = net.coordinator().config().epoch;
  stray.request = 99;
  stray.write = chain_write{0, "b", std::string{"x"}};
  net.post({{cli(alice), rep(2), stray}});
  net.run();
  CHECK_EQ(refusal(*net.answer(alice, 99)), chain_refusal::not_head);
  // Many writes in a shuffled network, with overwrites and erases.
  std::vector<uint64_t> requests;
  for (int i = 0; i < 50; ++i)
    requests.push_back(
        net.write(alice, "k" + std::to_string(i % 7), std::to_string(i)));
  requests.push_back(net.write(alice, "a", std::nullopt));
  net.run();
  for (auto r : requests) {
    auto acked = net.acked(alice, r);
    REQUIRE(acked);
    CHECK_EQ(acked->first, 3u);
  }
  for (auto& x : net.client_deliveries())
    if (std::holds_alternative<chain_write_ack>(x.envelope.payload))
      CHECK_EQ(x.envelope.from, rep(3));
  auto gone = net.read(alice, "a");
  auto k6 = net.read(alice, "k6");
  net.run();
  CHECK_EQ(read_value(*net.answer(alice, gone)), std::nullopt);
  CHECK_EQ(read_value(*net.answer(alice, k6)), "48");
  CHECK_EQ(digests(net, {1, 2, 3}).size(), 1u);
  for (auto id : {1, 2, 3}) {
    CHECK_EQ(net.replica(id).last_applied(), 52u);
    CHECK_EQ(net.store(id).total_applications(), 52u);
  }
}

TEST_CASE("a duplicate delivery or a client retry is applied once") {
  chain_network net(3, 2);
  auto request = net.write(alice, "a", "1");
  net.deliver(cli(alice), rep(1));
  // The network delivers the forward twice.
  REQUIRE_EQ(net.pending(rep(1), rep(2)), 1u);
  net.deliver(rep(1), rep(2));
  auto forward = net.deliveries().back().envelope;
  REQUIRE(std::holds_alternative<chain_forward>(forward.payload));
  net.post({forward});
  net.run();
  for (auto id : {1, 2, 3})
    CHECK_EQ(net.store(id).applications(1), 1u);
  REQUIRE(net.acked(alice, request));
  // The client did not see the ack and retries: the head knows the request
  // and answers without applying it again.
  net.retry_write(alice, request);
  net.run();
  for (auto id : {1, 2, 3}) {
    CHECK_EQ(net.store(id).applications(alice, request), 1u);
    CHECK_EQ(net.replica(id).last_applied(), 1u);
  }
  size_t acks = 0;
  for (auto& x : net.client_deliveries())
    if (auto ack = std::get_if<chain_write_ack>(&x.envelope.payload))
      if (ack->request == request) {
        CHECK_EQ(ack->seq, 1u);
        ++acks;
      }
  CHECK_EQ(acks, 2u);
  // A retry racing the original is not answered twice by the chain: the
  // head sees it in flight and leaves the answer to the tail.
  auto second = net.write(alice, "b", "2");
  net.retry_write(alice, second);
  net.run();
  for (auto id : {1, 2, 3})
    CHECK_EQ(net.store(id).applications(alice, second), 1u);
  CHECK_EQ(digests(net, {1, 2, 3}).size(), 1u);
}

TEST_CASE("a write after a gap is held back until the gap fills") {
  chain_network net(3, 3);
  auto& middle = net.replica(2);
  auto epoch = net.coordinator().config().epoch;
  auto out = middle.receive(rep(1), chain_forward{epoch, {entry(2, "b", "2")}});
  CHECK(out.empty());
  CHECK_EQ(middle.last_applied(), 0u);
  CHECK_EQ(middle.held_back(), 1u);
  out = middle.receive(rep(1), chain_forward{epoch, {entry(1, "a", "1")}});
  CHECK_EQ(middle.last_applied(), 2u);
  CHECK_EQ(middle.held_back(), 0u);
  // Both go on in one forward, in order.
  REQUIRE_EQ(out.size(), 1u);
  auto forward = std::get_if<chain_forward>(&out.front().payload);
  REQUIRE(forward != nullptr);
  CHECK_EQ(out.front().to, rep(3));
  REQUIRE_EQ(forward->entries.size(), 2u);
  CHECK_EQ(forward->entries[0].seq, 1u);
  CHECK_EQ(forward->entries[1].seq, 2u);
  // A replica accepts writes only from its predecessor.
  out = middle.receive(rep(3), chain_forward{epoch, {entry(3, "c", "3")}});
  CHECK(out.empty());
  CHECK_EQ(middle.last_applied(), 2u);
}

TEST_CASE("messages of an older epoch are dropped, of a newer one deferred") {
  chain_network net(3, 4);
  auto& middle = net.replica(2);
  auto epoch = net.coordinator().config().epoch;
  // Newer: neither applied nor forwarded until the configuration arrives.
  auto out
      = middle.receive(rep(1), chain_forward{epoch + 1, {entry(1, "a", "1")}});
  CHECK(out.empty());
  CHECK_EQ(middle.last_applied(), 0u);
  CHECK_EQ(middle.deferred(), 1u);
  // An acknowledgement from the newer epoch is not believed either.
  out = middle.receive(rep(3), chain_ack{epoch + 1, 1});
  CHECK(out.empty());
  CHECK_EQ(middle.acked(), 0u);
  auto next = net.coordinator().config();
  next.epoch = epoch + 1;
  out = middle.receive(coord(), chain_install{next});
  CHECK_EQ(middle.epoch(), epoch + 1);
  CHECK_EQ(middle.last_applied(), 1u);
  CHECK_EQ(middle.deferred(), 0u);
  // Older: dropped without effect.
  out = middle.receive(rep(1), chain_forward{epoch, {entry(2, "b", "2")}});
  CHECK(out.empty());
  CHECK_EQ(middle.last_applied(), 1u);
  CHECK_EQ(middle.held_back(), 0u);
  // Clients with another epoch are refused, saying which side is behind.
  auto& tail = net.replica(3);
  chain_read_request old_read{epoch - 1, 1, 0, "a"};
  out = tail.receive(cli(alice), old_read);
  REQUIRE_EQ(out.size(), 1u);
  auto refused = std::get_if<chain_refused>(&out.front().payload);
  REQUIRE(refused != nullptr);
  CHECK_EQ(refused->reason, chain_refusal::stale_request);
  CHECK_EQ(refused->epoch, epoch);
  chain_read_request new_read{epoch + 1, 2, 0, "a"};
  out = tail.receive(cli(alice), new_read);
  REQUIRE_EQ(out.size(), 1u);
  refused = std::get_if<chain_refused>(&out.front().payload);
  REQUIRE(refused != nullptr);
  CHECK_EQ(refused->reason, chain_refusal::stale_replica);
}

TEST_CASE("a tail without a lease neither acknowledges nor serves reads") {
  chain_network net(2, 5);
  auto request = net.write(alice, "a", "1");
  net.advance(net.coordinator().lease());
  net.run();
  CHECK_EQ(net.replica(2).last_applied(), 1u);
  CHECK_FALSE(net.acked(alice, request));
  auto read = net.read(alice, "a");
  net.run();
  CHECK_EQ(refusal(*net.answer(alice, read)), chain_refusal::no_lease);
  // A renewed lease releases the acknowledgement.
  net.heartbeat_all();
  net.run();
  CHECK(net.acked(alice, request));
  read = net.read(alice, "a");
  net.run();
  CHECK_EQ(read_value(*net.answer(alice, read)), "1");
}

TEST_CASE("a store that cannot write the rows it left stops its replica") {
  chain_network net(3, 6);
  auto first = net.write(alice, "a", "1");
  net.run();
  REQUIRE(net.acked(alice, first));
  net.replica(1).write_rows();
  CHECK_FALSE(net.replica(1).retired());
  net.store(2).fail_next_rows();
  net.replica(2).write_rows();
  CHECK(net.replica(2).retired());
  // Retired, the middle forwards nothing: the tail never sees the write.
  auto second = net.write(alice, "b", "2");
  net.run();
  CHECK_EQ(net.replica(1).last_applied(), 2u);
  CHECK_EQ(net.replica(3).last_applied(), 1u);
  CHECK_FALSE(net.acked(alice, second));
}

TEST_CASE("a failing store stops its replica") {
  chain_network net(3, 6);
  net.store(2).fail_next_apply();
  auto request = net.write(alice, "a", "1");
  net.run();
  CHECK(net.replica(2).retired());
  CHECK_EQ(net.replica(3).last_applied(), 0u);
  CHECK_FALSE(net.acked(alice, request));
}
