// Every message of the GCS chain survives CAF's binary serializer inside a
// whole caf::message (which needs its type ID), handles included.

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>

#include "proto/register_types.hpp"

using namespace cafray;
using namespace cafray::wire;

namespace {

struct chain_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor dummy;

  chain_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    dummy = sys->spawn([] { return caf::behavior{[](int) {}}; });
  }

  ~chain_fixture() {
    caf::anon_send_exit(dummy, caf::exit_reason::kill);
    dummy = nullptr;
    sys.reset();
  }

  /// `x` after a trip through a serialized caf::message.
  template <class T>
  T trip(const T& x) {
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto err = sink(msg);
    REQUIRE_MESSAGE(!err, sys->render(err));
    caf::message copy;
    caf::binary_deserializer source{*sys, buf};
    err = source(copy);
    REQUIRE_MESSAGE(!err, sys->render(err));
    CHECK_EQ(source.remaining(), 0u);
    REQUIRE(copy.match_elements<T>());
    return copy.get_as<T>(0);
  }

  chain_member member(uint64_t id) {
    return chain_member{id, caf::actor_cast<gcs_replica_actor>(dummy), {}, 0};
  }
};

} // namespace

TEST_CASE_FIXTURE(chain_fixture, "client messages round trip") {
  // The writes are a block that gcs/chain_codec.hpp encodes: CAF carries
  // it as bytes, embedded zeros included.
  chain_write_batch batch{3, 42, std::string{"\0block\xff", 7}};
  auto b = trip(batch);
  CHECK_EQ(b.epoch, 3u);
  CHECK_EQ(b.client, 42u);
  CHECK_EQ(b.block, std::string{"\0block\xff", 7});
  auto r = trip(chain_read_request{4, 42, 9, 2, "k"});
  CHECK_EQ(r.epoch, 4u);
  CHECK_EQ(r.client, 42u);
  CHECK_EQ(r.request, 9u);
  CHECK_EQ(r.table, 2u);
  CHECK_EQ(r.key, "k");
  chain_answers answers{2, 42, {{7, 100}},
                        {{9, 101, true, "x"}, {10, 101, false, ""}},
                        {{11, 3, 5}}};
  auto a = trip(answers);
  CHECK_EQ(a.replica, 2u);
  CHECK_EQ(a.client, 42u);
  REQUIRE_EQ(a.acks.size(), 1u);
  CHECK_EQ(a.acks[0].request, 7u);
  CHECK_EQ(a.acks[0].seq, 100u);
  REQUIRE_EQ(a.reads.size(), 2u);
  CHECK(a.reads[0].found);
  CHECK_EQ(a.reads[0].value, "x");
  CHECK_FALSE(a.reads[1].found);
  REQUIRE_EQ(a.refusals.size(), 1u);
  CHECK_EQ(a.refusals[0].request, 11u);
  CHECK_EQ(a.refusals[0].reason, 3u);
  CHECK_EQ(a.refusals[0].epoch, 5u);
  // What a process's endpoint sends and receives for several clients.
  chain_write_batches batches;
  batches.batches.push_back(batch);
  batches.batches.push_back(chain_write_batch{4, 43, "other"});
  auto bs = trip(batches);
  REQUIRE_EQ(bs.batches.size(), 2u);
  CHECK_EQ(bs.batches[0].client, 42u);
  CHECK_EQ(bs.batches[0].block, std::string{"\0block\xff", 7});
  CHECK_EQ(bs.batches[1].epoch, 4u);
  CHECK_EQ(bs.batches[1].client, 43u);
  CHECK_EQ(bs.batches[1].block, "other");
  chain_answer_batches bundle;
  bundle.answers.push_back(answers);
  bundle.answers.push_back(chain_answers{2, 43, {{8, 102}}, {}, {}});
  auto as = trip(bundle);
  REQUIRE_EQ(as.answers.size(), 2u);
  CHECK_EQ(as.answers[0].client, 42u);
  REQUIRE_EQ(as.answers[0].reads.size(), 2u);
  CHECK_EQ(as.answers[0].reads[0].value, "x");
  CHECK_EQ(as.answers[1].client, 43u);
  REQUIRE_EQ(as.answers[1].acks.size(), 1u);
  CHECK_EQ(as.answers[1].acks[0].request, 8u);
  CHECK_EQ(as.answers[1].acks[0].seq, 102u);
  auto result = trip(chain_read_result{true, "v", 12});
  CHECK(result.found);
  CHECK_EQ(result.value, "v");
  CHECK_EQ(result.seq, 12u);
  // A client's group of writes (gcs_chain_client_actor's batched put).
  auto rows = trip(std::vector<chain_write>{{4, "k1", false, "v1"},
                                            {5, "k2", true, ""}});
  REQUIRE_EQ(rows.size(), 2u);
  CHECK_EQ(rows[0].table, 4u);
  CHECK_EQ(rows[0].key, "k1");
  CHECK_FALSE(rows[0].erase);
  CHECK_EQ(rows[0].value, "v1");
  CHECK_EQ(rows[1].table, 5u);
  CHECK_EQ(rows[1].key, "k2");
  CHECK(rows[1].erase);
}

TEST_CASE_FIXTURE(chain_fixture, "replica messages round trip, handles too") {
  chain_forward fwd{6, 1,
                    {{42, caf::actor_cast<gcs_chain_client_actor>(dummy)}},
                    std::string{"\0entries", 8}};
  auto f = trip(fwd);
  CHECK_EQ(f.epoch, 6u);
  CHECK_EQ(f.from, 1u);
  CHECK_EQ(f.block, std::string{"\0entries", 8});
  REQUIRE_EQ(f.clients.size(), 1u);
  CHECK_EQ(f.clients[0].client, 42u);
  CHECK(f.clients[0].handle.address() == dummy.address());
  auto ack = trip(chain_ack{6, 3, 99});
  CHECK_EQ(ack.epoch, 6u);
  CHECK_EQ(ack.from, 3u);
  CHECK_EQ(ack.seq, 99u);
  auto sync = trip(chain_sync{6, 2, 98});
  CHECK_EQ(sync.from, 2u);
  CHECK_EQ(sync.upto, 98u);
  chain_snapshot_chunk chunk{3, 2, 77, 4, true, {{1, "k", "v"}},
                             {{42, 5, {5, 6}, {70, 71}}}};
  auto c = trip(chunk);
  CHECK_EQ(c.from, 3u);
  CHECK_EQ(c.attempt, 2u);
  CHECK_EQ(c.seq, 77u);
  CHECK_EQ(c.index, 4u);
  CHECK(c.last);
  REQUIRE_EQ(c.rows.size(), 1u);
  CHECK_EQ(c.rows[0].table, 1u);
  CHECK_EQ(c.rows[0].key, "k");
  CHECK_EQ(c.rows[0].value, "v");
  REQUIRE_EQ(c.clients.size(), 1u);
  CHECK_EQ(c.clients[0].client, 42u);
  CHECK_EQ(c.clients[0].oldest_pending, 5u);
  CHECK_EQ(c.clients[0].requests, std::vector<uint64_t>{5, 6});
  CHECK_EQ(c.clients[0].seqs, std::vector<uint64_t>{70, 71});
  chain_replica_status status{2, 9, 100, 0xfeedull, true, false, true, true,
                              {1, 2}};
  auto s = trip(status);
  CHECK_EQ(s.replica, 2u);
  CHECK_EQ(s.epoch, 9u);
  CHECK_EQ(s.last_applied, 100u);
  CHECK_EQ(s.digest, 0xfeedull);
  CHECK(s.member);
  CHECK_FALSE(s.retired);
  CHECK(s.tail);
  CHECK(s.serving_reads);
  CHECK_EQ(s.chain, std::vector<uint64_t>{1, 2});
}

TEST_CASE_FIXTURE(chain_fixture, "coordinator messages round trip") {
  auto config = trip(chain_configuration{7, 12, {member(1), member(3)}});
  CHECK_EQ(config.shard, 7u);
  CHECK_EQ(config.epoch, 12u);
  REQUIRE_EQ(config.members.size(), 2u);
  CHECK_EQ(config.members[1].replica, 3u);
  CHECK(config.members[1].handle.address() == dummy.address());
  auto lease = trip(chain_lease{5, -1});
  CHECK_EQ(lease.number, 5u);
  CHECK_EQ(lease.duration_ns, -1);
  auto request = trip(chain_snapshot_request{12, 3, member(4)});
  CHECK_EQ(request.epoch, 12u);
  CHECK_EQ(request.attempt, 3u);
  CHECK_EQ(request.joiner.replica, 4u);
  CHECK(request.joiner.handle.address() == dummy.address());
  CHECK_EQ(trip(chain_cancel_join{3}).attempt, 3u);
  CHECK_EQ(trip(chain_retire{4}).replica, 4u);
  auto beat = trip(chain_heartbeat{2, 12, 40});
  CHECK_EQ(beat.replica, 2u);
  CHECK_EQ(beat.epoch, 12u);
  CHECK_EQ(beat.number, 40u);
  auto joined = trip(chain_joined{4, 3, 88});
  CHECK_EQ(joined.replica, 4u);
  CHECK_EQ(joined.attempt, 3u);
  CHECK_EQ(joined.seq, 88u);
  auto hello = trip(chain_announce{member(5), 1234});
  CHECK_EQ(hello.self.replica, 5u);
  CHECK(hello.self.handle.address() == dummy.address());
  CHECK_EQ(hello.last_applied, 1234u);
}
