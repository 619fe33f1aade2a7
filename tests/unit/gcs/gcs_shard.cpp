// One GCS shard in one process: the protocol, group commit, subscriptions
// and persistence.

#include <doctest/doctest.h>

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>

#include "actor_fixture.hpp"

using namespace cafray;
using namespace cafray::test;
using namespace std::chrono_literals;

namespace {

// Long enough that no timer fires during a test: commits happen only when
// the test asks for them (or a batch fills up).
gcs_shard_options manual_flush(size_t max_batch_rows = 4096) {
  gcs_shard_options opts;
  opts.flush_interval = std::chrono::hours(1);
  opts.max_batch_rows = max_batch_rows;
  return opts;
}

} // namespace

TEST_CASE_FIXTURE(actor_fixture, "put, get, scan and delete") {
  auto shard = spawn_shard(std::make_shared<memory_kv_store>());
  CHECK(!put(shard, gcs_table::kv, "a/1", "one"));
  CHECK(!put(shard, gcs_table::kv, "a/2", "two"));
  CHECK(!put(shard, gcs_table::kv, "b/1", "other"));
  CHECK(!put(shard, gcs_table::jobs, "a/1", "a job"));
  CHECK_EQ(*get(shard, gcs_table::kv, "a/1"), "one");
  CHECK_EQ(*get(shard, gcs_table::jobs, "a/1"), "a job");
  CHECK_EQ(code_of(get(shard, gcs_table::kv, "a/3").error()),
           errc::not_found);
  CHECK_EQ(render_rows(*scan(shard, gcs_table::kv, "a/")), "a/1=one,a/2=two");
  CHECK(!erase(shard, gcs_table::kv, "a/1"));
  CHECK_EQ(code_of(get(shard, gcs_table::kv, "a/1").error()),
           errc::not_found);
  // Deleting a missing key is idempotent.
  CHECK(!erase(shard, gcs_table::kv, "a/1"));
  CHECK_EQ(render_rows(*scan(shard, gcs_table::kv, "")), "a/2=two,b/1=other");
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "bad tables and keys fail, the shard lives") {
  auto shard = spawn_shard(std::make_shared<memory_kv_store>());
  auto bad_table = static_cast<gcs_table>(gcs_table_count);
  CHECK_EQ(code_of(put(shard, bad_table, "k", "v")), errc::storage_error);
  CHECK_EQ(code_of(get(shard, bad_table, "k").error()), errc::storage_error);
  CHECK_EQ(code_of(scan(shard, bad_table, "").error()), errc::storage_error);
  CHECK_EQ(code_of(put(shard, gcs_table::kv, "", "v")), errc::storage_error);
  CHECK_EQ(code_of(put(shard, gcs_table::kv, std::string(600, 'k'), "v")),
           errc::storage_error);
  // A bad row in a batch is dropped alone.
  put_batch(shard, gcs_table::kv, {{"", "bad"}, {"good", "yes"}});
  CHECK(!flush(shard));
  CHECK_EQ(*get(shard, gcs_table::kv, "good"), "yes");
  // An unexpected message is logged, answered with an error, and survived.
  caf::error unexpected;
  (*self)
    ->request(caf::actor_cast<caf::actor>(shard), timeout, std::string{"?"})
    .receive([](caf::message&) {},
             [&](caf::error& err) { unexpected = std::move(err); });
  CHECK(unexpected);
  CHECK_EQ(*get(shard, gcs_table::kv, "good"), "yes");
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "reads see writes that are not committed") {
  auto store = std::make_shared<counting_store>();
  auto stats = store->stats();
  auto shard = spawn_shard(store, manual_flush());
  put_batch(shard, gcs_table::objects, {{"o1", "v1"}, {"o2", "v2"}});
  put_batch(shard, gcs_table::objects, {{"o1", "v1b"}});
  CHECK_EQ(*get(shard, gcs_table::objects, "o1"), "v1b");
  CHECK_EQ(render_rows(*scan(shard, gcs_table::objects, "o")),
           "o1=v1b,o2=v2");
  CHECK_EQ(stats->applies.load(), 0u);
  CHECK(!flush(shard));
  // One transaction, each key written once.
  CHECK_EQ(stats->applies.load(), 1u);
  CHECK_EQ(stats->rows.load(), 2u);
  CHECK_EQ(*get(shard, gcs_table::objects, "o1"), "v1b");
  // A flush with nothing pending commits nothing.
  CHECK(!flush(shard));
  CHECK_EQ(stats->applies.load(), 1u);
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "scan merges pending puts and deletes") {
  auto shard = spawn_shard(std::make_shared<memory_kv_store>(),
                           manual_flush());
  put_batch(shard, gcs_table::tasks,
            {{"t1", "s1"}, {"t2", "s2"}, {"t3", "s3"}});
  CHECK(!flush(shard));
  put_batch(shard, gcs_table::tasks, {{"t2", "p2"}, {"t4", "p4"}});
  // An acknowledged delete stays pending until the flush below.
  auto pending_delete = (*self)->request(shard, timeout, caf::delete_atom_v,
                                         static_cast<uint8_t>(gcs_table::tasks),
                                         std::string{"t3"});
  CHECK_EQ(render_rows(*scan(shard, gcs_table::tasks, "t")),
           "t1=s1,t2=p2,t4=p4");
  CHECK_EQ(code_of(get(shard, gcs_table::tasks, "t3").error()),
           errc::not_found);
  CHECK(!flush(shard));
  bool deleted = false;
  pending_delete.receive([&](ok_atom) { deleted = true; },
                         [&](caf::error& err) { FAIL(render(err)); });
  CHECK(deleted);
  CHECK_EQ(render_rows(*scan(shard, gcs_table::tasks, "t")),
           "t1=s1,t2=p2,t4=p4");
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "acknowledged puts answer after one commit") {
  auto store = std::make_shared<counting_store>();
  auto stats = store->stats();
  // The tenth write fills the batch; no timer is involved.
  auto shard = spawn_shard(store, manual_flush(10));
  std::vector<decltype((*self)->request(shard, timeout, caf::put_atom_v,
                                        uint8_t{0}, std::string{},
                                        std::string{}))>
    replies;
  for (int i = 0; i < 10; ++i)
    replies.push_back((*self)->request(shard, timeout, caf::put_atom_v,
                                       static_cast<uint8_t>(gcs_table::kv),
                                       "k" + std::to_string(i),
                                       "v" + std::to_string(i)));
  size_t acked = 0;
  for (auto& reply : replies)
    reply.receive([&](ok_atom) { ++acked; },
                  [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(acked, 10u);
  CHECK_EQ(stats->applies.load(), 1u);
  CHECK_EQ(stats->rows.load(), 10u);
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "the flush timer commits a waiting put") {
  auto store = std::make_shared<counting_store>();
  auto stats = store->stats();
  gcs_shard_options opts;
  opts.flush_interval = 20ms;
  auto shard = spawn_shard(store, opts);
  // No flush request: only the shard's own timer can commit this.
  CHECK(!put(shard, gcs_table::kv, "k", "v"));
  CHECK_EQ(stats->applies.load(), 1u);
  CHECK(!put(shard, gcs_table::kv, "k2", "v2"));
  CHECK_EQ(stats->applies.load(), 2u);
  stop(shard);
}

TEST_CASE_FIXTURE(actor_fixture, "subscribers hear of committed writes") {
  auto shard = spawn_shard(std::make_shared<memory_kv_store>(),
                           manual_flush());
  auto me = caf::actor_cast<caf::actor>(*self);
  auto expect_notify = [&](const std::string& key, const std::string& value) {
    bool got = false;
    (*self)->receive(
      [&](notify_atom, uint8_t table, const std::string& k,
          const std::string& v) {
        CHECK_EQ(table, static_cast<uint8_t>(gcs_table::objects));
        CHECK_EQ(k, key);
        CHECK_EQ(v, value);
        got = true;
      },
      caf::after(timeout) >> [] { FAIL("no notification"); });
    return got;
  };
  auto expect_silence = [&] {
    bool quiet = true;
    (*self)->receive(
      [&](notify_atom, uint8_t, const std::string& k, const std::string&) {
        FAIL("unexpected notification for ", k);
        quiet = false;
      },
      caf::after(std::chrono::milliseconds(50)) >> [] {});
    return quiet;
  };
  SUBCASE("an existing key notifies at once") {
    put_batch(shard, gcs_table::objects, {{"o1", "here"}});
    CHECK(!flush(shard));
    caf::anon_send(shard, subscribe_atom_v,
                   static_cast<uint8_t>(gcs_table::objects),
                   std::string{"o1"}, me);
    CHECK(expect_notify("o1", "here"));
  }
  SUBCASE("a missing key notifies after the commit of its write") {
    caf::anon_send(shard, subscribe_atom_v,
                   static_cast<uint8_t>(gcs_table::objects),
                   std::string{"o2"}, me);
    // Subscribing twice still means one notification per commit.
    caf::anon_send(shard, subscribe_atom_v,
                   static_cast<uint8_t>(gcs_table::objects),
                   std::string{"o2"}, me);
    put_batch(shard, gcs_table::objects, {{"o2", "first"}, {"o3", "x"}});
    CHECK(expect_silence());
    CHECK(!flush(shard));
    CHECK(expect_notify("o2", "first"));
    CHECK(expect_silence());
    put_batch(shard, gcs_table::objects, {{"o2", "second"}});
    CHECK(!flush(shard));
    CHECK(expect_notify("o2", "second"));
  }
  SUBCASE("deletes do not notify") {
    put_batch(shard, gcs_table::objects, {{"o4", "v"}});
    CHECK(!flush(shard));
    caf::anon_send(shard, subscribe_atom_v,
                   static_cast<uint8_t>(gcs_table::objects),
                   std::string{"o4"}, me);
    CHECK(expect_notify("o4", "v"));
    auto reply = (*self)->request(shard, timeout, caf::delete_atom_v,
                                  static_cast<uint8_t>(gcs_table::objects),
                                  std::string{"o4"});
    CHECK(!flush(shard));
    reply.receive([](ok_atom) {}, [](caf::error& err) { FAIL(render(err)); });
    CHECK(expect_silence());
  }
  SUBCASE("a subscriber that goes down is dropped") {
    auto short_lived = sys->spawn([]() -> caf::behavior {
      return {[](notify_atom, uint8_t, const std::string&,
                 const std::string&) {}};
    });
    for (auto& sub : {short_lived, me})
      caf::anon_send(shard, subscribe_atom_v,
                     static_cast<uint8_t>(gcs_table::objects),
                     std::string{"o5"}, sub);
    caf::anon_send_exit(short_lived, caf::exit_reason::kill);
    (*self)->wait_for(short_lived);
    put_batch(shard, gcs_table::objects, {{"o5", "after"}});
    CHECK(!flush(shard));
    CHECK(expect_notify("o5", "after"));
    CHECK(expect_silence());
    CHECK_EQ(*get(shard, gcs_table::objects, "o5"), "after");
  }
  stop(shard);
}
