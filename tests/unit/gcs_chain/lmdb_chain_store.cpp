// The LMDB chain store: what it writes survives closing and reopening the
// environment, byte for byte (same digest as a memory store fed the same
// writes), and a whole chain restarted from its directories loses nothing.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "chain_checks.hpp"
#include "common/error.hpp"
#include "gcs/chain_codec.hpp"
#include "gcs/lmdb_chain_store.hpp"
#include "../common/lmdb_reader_child.hpp"
#include "../common/test_directory.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr chain_client_id alice = 100;
constexpr chain_client_id bob = 200;

chain_entry entry(chain_seq seq, chain_client_id client, uint64_t request,
                  uint8_t table, std::string key,
                  std::optional<std::string> value,
                  uint64_t oldest_pending = 0) {
  chain_entry result;
  result.seq = seq;
  result.client = client;
  result.request = request;
  result.oldest_pending = oldest_pending;
  result.write = chain_write{table, std::move(key), std::move(value)};
  return result;
}

std::unique_ptr<lmdb_chain_store> open_store(const std::string& dir,
                                             lmdb_options opts = {}) {
  opts.sync = false;
  auto store = lmdb_chain_store::open(dir, opts);
  REQUIRE_MESSAGE(store, render(store.error()));
  return std::move(*store);
}

/// Three batches over two tables and two clients, with an overwrite and an
/// erase.
std::vector<std::vector<chain_entry>> sample_batches() {
  return {
    {entry(1, alice, 1, 0, "a", "1"), entry(2, bob, 1, 3, "b", "2")},
    {entry(3, alice, 2, 0, "a", "one", 2), entry(4, bob, 2, 3, "c", "")},
    {entry(5, alice, 3, 0, "d", "4", 2), entry(6, bob, 3, 3, "b", {}, 3)},
  };
}

} // namespace

TEST_CASE("chain codec: entries, records and keys round trip") {
  for (auto& x : {entry(7, alice, 3, 2, "key", "value", 1),
                  entry(~0ull, ~0ull, 0, 255, "k", std::string{}),
                  entry(1, 1, 1, 0, std::string(300, 'k'), std::nullopt)}) {
    chain_entry y;
    REQUIRE(decode_entry(encode_entry(x), y));
    CHECK_EQ(y.seq, x.seq);
    CHECK_EQ(y.client, x.client);
    CHECK_EQ(y.request, x.request);
    CHECK_EQ(y.oldest_pending, x.oldest_pending);
    CHECK_EQ(y.write.table, x.write.table);
    CHECK_EQ(y.write.key, x.write.key);
    CHECK_EQ(y.write.value, x.write.value);
  }
  chain_entry ignored;
  CHECK_FALSE(decode_entry("short", ignored));
  // A transaction's entries: one log record, one forward.
  std::vector<chain_entry> batch{entry(7, alice, 3, 2, "key", "value", 1),
                                 entry(8, bob, 4, 255, "k", std::string{}),
                                 entry(9, alice, 5, 0, "e", std::nullopt, 2)};
  auto bytes = encode_entries(batch);
  // The count, then 50 fixed bytes per entry besides key and value.
  CHECK_EQ(bytes.size(), 8u + 3 * 50 + 3 + 5 + 1 + 1);
  size_t count = 0;
  REQUIRE(count_entries(bytes, count));
  CHECK_EQ(count, 3u);
  std::vector<chain_entry> decoded{entry(1, bob, 1, 0, "kept", "x")};
  REQUIRE(decode_entries(bytes, decoded));
  REQUIRE_EQ(decoded.size(), 4u);
  CHECK_EQ(decoded[0].write.key, "kept");
  for (size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i);
    auto& x = batch[i];
    auto& y = decoded[i + 1];
    CHECK_EQ(y.seq, x.seq);
    CHECK_EQ(y.client, x.client);
    CHECK_EQ(y.request, x.request);
    CHECK_EQ(y.oldest_pending, x.oldest_pending);
    CHECK_EQ(y.write.table, x.write.table);
    CHECK_EQ(y.write.key, x.write.key);
    CHECK_EQ(y.write.value, x.write.value);
  }
  // Anything cut or extended is refused and leaves the output alone.
  CHECK_FALSE(decode_entries(bytes.substr(0, bytes.size() - 1), decoded));
  CHECK_FALSE(decode_entries(bytes + "x", decoded));
  CHECK_FALSE(decode_entries("short", decoded));
  CHECK_EQ(decoded.size(), 4u);
  std::vector<chain_entry> none;
  REQUIRE(decode_entries(encode_entries({}), none));
  CHECK(none.empty());
  chain_client_record record{5, {{5, 10}, {7, 12}}};
  chain_client_record back;
  REQUIRE(decode_client_record(encode_client_record(record), back));
  CHECK_EQ(back.oldest_pending, 5u);
  CHECK_EQ(back.applied, record.applied);
  CHECK_FALSE(decode_client_record(encode_client_record(record) + "x", back));
  chain_seq seq = 0;
  REQUIRE(decode_seq_key(encode_seq_key(0x0102030405060708ull), seq));
  CHECK_EQ(seq, 0x0102030405060708ull);
  CHECK_LT(encode_seq_key(255), encode_seq_key(256));
}

TEST_CASE("lmdb chain store: reopened, it holds what it applied") {
  test_directory dir;
  memory_chain_store reference;
  {
    auto store = open_store(dir.path());
    // Log records go as soon as they are trimmed.
    store->set_trim_records(1);
    for (auto& batch : sample_batches()) {
      REQUIRE(store->apply(batch));
      REQUIRE(reference.apply(batch));
    }
    CHECK_EQ(store->digest(), reference.digest());
    store->trim(3);
    // The trim reaches the disk with the next transaction.
    REQUIRE(store->apply({entry(7, alice, 4, 0, "e", "5", 4)}));
    REQUIRE(reference.apply({entry(7, alice, 4, 0, "e", "5", 4)}));
  }
  auto store = open_store(dir.path());
  CHECK_EQ(store->last_applied(), 7u);
  CHECK_EQ(store->digest(), reference.digest());
  CHECK_EQ(store->read(0, "a"), "one");
  CHECK_EQ(store->read(3, "b"), std::nullopt);
  CHECK_EQ(store->read(3, "c"), "");
  auto rows = store->rows();
  REQUIRE_EQ(rows.size(), 4u);
  CHECK_EQ(rows[0].key, "a");
  CHECK_EQ(rows[3].table, 3u);
  CHECK_EQ(rows[3].key, "c");
  auto durable = store->recover();
  CHECK_EQ(durable.trimmed, 3u);
  REQUIRE_EQ(durable.log.size(), 4u);
  CHECK_EQ(durable.log.front().seq, 4u);
  CHECK_EQ(durable.log.back().seq, 7u);
  CHECK_EQ(durable.log.back().write.value, "5");
  // One record per transaction, erased once all of it is trimmed: 3 stays
  // with 4 in their record (recover skips it).
  CHECK_EQ(store->log_size(), 5u);
  // The retry table forgot the requests below each client's oldest_pending.
  REQUIRE_EQ(durable.clients.size(), 2u);
  CHECK_EQ(durable.clients[alice].oldest_pending, 4u);
  CHECK_EQ(durable.clients[alice].applied,
           (std::map<uint64_t, chain_seq>{{4, 7}}));
  CHECK_EQ(durable.clients[bob].oldest_pending, 3u);
  CHECK_EQ(durable.clients[bob].applied,
           (std::map<uint64_t, chain_seq>{{3, 6}}));
  CHECK_EQ(durable.clients, reference.recover().clients);
}

TEST_CASE("lmdb chain store: rows wait for apply_pending, reads see them, "
          "a reopened store writes them") {
  test_directory dir;
  memory_chain_store reference;
  {
    auto store = open_store(dir.path());
    for (auto& batch : sample_batches()) {
      REQUIRE(store->apply(batch));
      REQUIRE(reference.apply(batch));
    }
    // Only the log holds the six writes yet.
    CHECK_EQ(store->pending(), 6u);
    CHECK_EQ(store->rows_at(), 0u);
    CHECK_EQ(store->last_applied(), 6u);
    CHECK_EQ(store->read(0, "a"), "one");
    CHECK_EQ(store->read(3, "b"), std::nullopt);
    CHECK_EQ(store->read(3, "c"), "");
    CHECK_EQ(store->read(0, "d"), "4");
    // Gone like a killed process: the rows never reached their tables.
  }
  {
    auto store = open_store(dir.path());
    CHECK_EQ(store->pending(), 0u);
    CHECK_EQ(store->rows_at(), 6u);
    CHECK_EQ(store->digest(), reference.digest());
    CHECK_EQ(store->clients(), reference.clients());
    REQUIRE(store->apply({entry(7, alice, 4, 0, "a", "two", 4)}));
    REQUIRE(reference.apply({entry(7, alice, 4, 0, "a", "two", 4)}));
    CHECK_EQ(store->pending(), 1u);
    REQUIRE(store->apply_pending());
    CHECK_EQ(store->pending(), 0u);
    CHECK_EQ(store->rows_at(), 7u);
    // Nothing waits: a second call changes nothing.
    REQUIRE(store->apply_pending());
    CHECK_EQ(store->rows_at(), 7u);
  }
  auto store = open_store(dir.path());
  CHECK_EQ(store->rows_at(), 7u);
  CHECK_EQ(store->read(0, "a"), "two");
  CHECK_EQ(store->digest(), reference.digest());
}

TEST_CASE("lmdb chain store: trimming keeps the log records whose rows "
          "wait") {
  test_directory dir;
  memory_chain_store reference;
  {
    auto store = open_store(dir.path());
    store->set_trim_records(1);
    auto batches = sample_batches();
    for (auto& batch : batches)
      REQUIRE(reference.apply(batch));
    REQUIRE(store->apply(batches[0]));
    REQUIRE(store->apply(batches[1]));
    store->trim(4);
    // Both records are trimmed, but their rows wait: they stay.
    REQUIRE(store->apply(batches[2]));
    CHECK_EQ(store->log_size(), 6u);
    CHECK_EQ(store->recover().trimmed, 0u);
  }
  {
    auto store = open_store(dir.path());
    store->set_trim_records(1);
    CHECK_EQ(store->digest(), reference.digest());
    // Written now: the next transaction erases what is trimmed.
    CHECK_EQ(store->rows_at(), 6u);
    store->trim(6);
    REQUIRE(store->apply({entry(7, bob, 4, 0, "e", "5", 4)}));
    REQUIRE(reference.apply({entry(7, bob, 4, 0, "e", "5", 4)}));
    CHECK_EQ(store->log_size(), 1u);
    CHECK_EQ(store->recover().trimmed, 6u);
  }
  auto store = open_store(dir.path());
  CHECK_EQ(store->digest(), reference.digest());
  CHECK_EQ(store->read(0, "e"), "5");
}

TEST_CASE("lmdb chain store: a map at its maximum size writes rows with "
          "the log") {
  test_directory dir;
  lmdb_options opts;
  opts.map_size = size_t{1} << 20;
  opts.max_map_size = opts.map_size;
  auto store = open_store(dir.path(), opts);
  auto batches = sample_batches();
  REQUIRE(store->apply(batches[0]));
  CHECK_EQ(store->pending(), 0u);
  CHECK_EQ(store->rows_at(), 2u);
  CHECK_EQ(store->read(0, "a"), "1");
}

TEST_CASE("lmdb chain store: a log of one record per entry, as earlier "
          "versions wrote it, moves to one record at open") {
  test_directory dir;
  {
    // The earlier layout: row tables, then meta, log and retry table.
    lmdb_options opts;
    opts.sync = false;
    auto tables = opts.tables;
    opts.tables = tables + 3;
    auto kv = lmdb_kv_store::open(dir.path(), opts);
    REQUIRE(kv);
    write_batch batch;
    for (chain_seq seq = 1; seq <= 5; ++seq) {
      auto x = entry(seq, alice, seq, 0, "k" + std::to_string(seq), "v");
      batch.put(0, x.write.key, *x.write.value);
      batch.put(tables + 1, encode_seq_key(seq), encode_entry(x));
    }
    batch.put(tables, "last", encode_seq_key(5));
    batch.put(tables, "trimmed", encode_seq_key(2));
    REQUIRE_FALSE((*kv)->apply(batch));
  }
  {
    auto store = open_store(dir.path());
    CHECK_EQ(store->last_applied(), 5u);
    CHECK_EQ(store->log_size(), 3u);
    auto durable = store->recover();
    CHECK_EQ(durable.trimmed, 2u);
    REQUIRE_EQ(durable.log.size(), 3u);
    CHECK_EQ(durable.log.front().seq, 3u);
    CHECK_EQ(durable.log.back().seq, 5u);
    CHECK_EQ(durable.log.back().write.key, "k5");
    // Trimming past the moved record erases it with the next transaction.
    store->set_trim_records(1);
    store->trim(5);
    REQUIRE(store->apply({entry(6, alice, 6, 0, "k6", "v")}));
    CHECK_EQ(store->log_size(), 1u);
  }
  auto store = open_store(dir.path());
  CHECK_EQ(store->last_applied(), 6u);
  CHECK_EQ(store->read(0, "k3"), "v");
  auto durable = store->recover();
  REQUIRE_EQ(durable.log.size(), 1u);
  CHECK_EQ(durable.log.front().seq, 6u);
}

TEST_CASE("lmdb chain store: the retry table on disk is rewritten only when "
          "log records go, and the log brings it up to date at open") {
  test_directory dir;
  memory_chain_store reference;
  // Ten transactions of two entries, each trimmed (acknowledged) after the
  // next one: records go four at a time.
  auto batch = [](chain_seq i) {
    return std::vector<chain_entry>{
      entry(2 * i - 1, alice, i, 0, "a" + std::to_string(i), "x", i),
      entry(2 * i, bob + i % 3, i, 1, "b" + std::to_string(i), "y",
            i > 2 ? i - 2 : 0)};
  };
  auto check_reopened = [&](chain_seq last, chain_seq trimmed,
                            size_t log_entries) {
    auto store = open_store(dir.path());
    CHECK_EQ(store->last_applied(), last);
    CHECK_EQ(store->digest(), reference.digest());
    auto durable = store->recover();
    CHECK_EQ(durable.trimmed, trimmed);
    CHECK_EQ(durable.clients, reference.recover().clients);
    CHECK_EQ(store->log_size(), log_entries);
  };
  for (chain_seq i = 1; i <= 10; ++i) {
    {
      auto store = open_store(dir.path());
      store->set_trim_records(4);
      store->trim(2 * (i - 1));
      REQUIRE(store->apply(batch(i)));
    }
    REQUIRE(reference.apply(batch(i)));
    CAPTURE(i);
    // Records 1-4 go with transaction 5, records 5-8 with 9: the table was
    // written then, and the log holds every later entry.
    if (i == 4)
      check_reopened(8, 0, 8);
    if (i == 8)
      check_reopened(16, 8, 8);
    if (i == 10)
      check_reopened(20, 16, 4);
  }
}

TEST_CASE("lmdb chain store: a snapshot replaces everything, durably") {
  test_directory dir;
  chain_snapshot snapshot;
  snapshot.seq = 40;
  snapshot.rows = {{0, "x", "10"}, {2, "y", "20"}};
  snapshot.clients[bob] = chain_client_record{9, {{9, 40}}};
  {
    auto store = open_store(dir.path());
    for (auto& batch : sample_batches())
      REQUIRE(store->apply(batch));
    REQUIRE(store->restore(snapshot));
    CHECK_EQ(store->digest(), chain_digest(snapshot.rows, 40));
  }
  auto store = open_store(dir.path());
  CHECK_EQ(store->last_applied(), 40u);
  CHECK_EQ(store->digest(), chain_digest(snapshot.rows, 40));
  CHECK_EQ(store->read(0, "a"), std::nullopt);
  auto durable = store->recover();
  CHECK(durable.log.empty());
  CHECK_EQ(durable.trimmed, 40u);
  CHECK_EQ(durable.clients, snapshot.clients);
  CHECK_EQ(store->log_size(), 0u);
}

TEST_CASE("lmdb chain store: the map grows to its maximum, then is full") {
  test_directory dir;
  lmdb_options opts;
  opts.map_size = size_t{256} << 10;
  opts.max_map_size = size_t{1} << 20;
  auto store = open_store(dir.path(), opts);
  std::string value(4000, 'x');
  chain_seq seq = 0;
  while (seq < 1000) {
    if (!store->apply({entry(seq + 1, alice, seq + 1, 1,
                             "row-" + std::to_string(seq), value)}))
      break;
    ++seq;
    store->trim(seq);
  }
  // Each row is 4 KB (once more in the log until trimmed): the 1 MiB
  // maximum holds far fewer than 1000, the initial 256 KiB fewer than 60.
  REQUIRE(store->full());
  CHECK_EQ(code_of(store->last_error()), errc::gcs_full);
  CHECK_EQ(store->map_size(), opts.max_map_size);
  CHECK_GT(seq, 60u);
  CHECK_LT(seq, 260u);
  CHECK_EQ(store->last_applied(), seq);
  // A write that fits still goes through.
  REQUIRE(store->apply({entry(seq + 1, alice, seq + 1, 1, "tiny", "t")}));
  CHECK_FALSE(store->full());
  CHECK_EQ(store->read(1, "tiny"), "t");
}

TEST_CASE("lmdb chain store: keys and tables that do not fit are refused") {
  test_directory dir;
  lmdb_options opts;
  opts.tables = 4;
  auto store = open_store(dir.path(), opts);
  CHECK(store->accepts(chain_write{3, "k", "v"}));
  CHECK(store->accepts(chain_write{0, std::string(max_key_size, 'k'), "v"}));
  CHECK_FALSE(store->accepts(chain_write{4, "k", "v"}));
  CHECK_FALSE(store->accepts(chain_write{0, "", "v"}));
  CHECK_FALSE(
    store->accepts(chain_write{0, std::string(max_key_size + 1, 'k'), "v"}));
  opts.tables = 0;
  CHECK_EQ(code_of(lmdb_chain_store::open(dir.path() + "/x", opts).error()),
           errc::invalid_config);
}

TEST_CASE("whole restart from LMDB: every write, the log and the retry "
          "table survive") {
  test_directory dir;
  auto stores = [&dir](replica_id id) -> std::unique_ptr<chain_store> {
    return open_store(dir.path() + "/replica-" + std::to_string(id));
  };
  chain_network net(3, 31, 100ms, stores);
  std::vector<uint64_t> requests;
  for (int i = 1; i <= 20; ++i)
    requests.push_back(net.write(alice, "k" + std::to_string(i),
                                 "v" + std::to_string(i)));
  net.run();
  // Writes 21..25 reach the head only, 26..28 the whole chain, but their
  // acknowledgements get lost.
  net.hold(rep(1), rep(2));
  for (int i = 21; i <= 25; ++i)
    requests.push_back(net.write(alice, "k" + std::to_string(i),
                                 "v" + std::to_string(i)));
  net.run();
  REQUIRE_EQ(net.replica(2).last_applied(), 20u);
  net.hold(rep(3), cli(alice));
  net.hold(rep(1), cli(alice));
  for (int i = 26; i <= 28; ++i)
    requests.push_back(net.write(alice, "k" + std::to_string(i),
                                 "v" + std::to_string(i)));
  net.run();
  REQUIRE_EQ(net.replica(1).last_applied(), 28u);
  REQUIRE_EQ(net.replica(3).last_applied(), 20u);
  net.release(rep(1), rep(2));
  net.run();
  REQUIRE_EQ(net.replica(3).last_applied(), 28u);
  REQUIRE(!net.acked(alice, requests[20]));
  // 29 and 30 are only in the head's store when everything stops.
  net.hold(rep(1), rep(2));
  for (int i = 29; i <= 30; ++i)
    requests.push_back(net.write(alice, "k" + std::to_string(i),
                                 "v" + std::to_string(i)));
  net.run();
  REQUIRE_EQ(net.replica(1).last_applied(), 30u);
  REQUIRE_EQ(net.replica(2).last_applied(), 28u);
  // Closing every environment and opening it again. The head resends 29
  // and 30 from its log; the tail answered 21..28 before (the answers got
  // lost), so the client's retries are answered from the retry table.
  net.restart_all();
  for (auto request : requests)
    if (!net.acked(alice, request))
      net.retry_write(alice, request);
  net.run();
  for (size_t i = 0; i < requests.size(); ++i) {
    CAPTURE(i);
    auto ack = net.acked(alice, requests[i]);
    REQUIRE(ack);
    CHECK_EQ(ack->second.seq, i + 1);
  }
  auto next = net.write(alice, "k31", "v31");
  net.run();
  REQUIRE(net.acked(alice, next));
  CHECK_EQ(net.acked(alice, next)->second.seq, 31u);
  for (int i = 1; i <= 31; ++i)
    CHECK_EQ(read_now(net, alice, "k" + std::to_string(i)),
             "v" + std::to_string(i));
  std::set<uint64_t> all;
  for (replica_id id : {1, 2, 3}) {
    CHECK_EQ(net.any_store(id).last_applied(), 31u);
    all.insert(net.any_store(id).digest());
  }
  CHECK_EQ(all.size(), 1u);
}

TEST_CASE("lmdb chain store: stale reader slots are cleared at open") {
  test_directory dir;
  CHECK(open_store(dir.path())->apply(sample_batches()[0]));
  // Another process keeps the environment open (alone, a process finds the
  // reader table reset by LMDB at open).
  lmdb_reader_child alive{dir.path()};
  lmdb_reader_child dead{dir.path()};
  REQUIRE(alive.hold());
  REQUIRE(dead.hold());
  dead.die();
  auto store = open_store(dir.path());
  CHECK_EQ(store->stale_readers_cleared(), 1u);
  CHECK_EQ(store->readers_in_use(), 1u);
  CHECK_EQ(store->last_applied(), 2u);
}

TEST_CASE("lmdb chain store: periodically by later applies") {
  test_directory dir;
  lmdb_reader_child child{dir.path()};
  lmdb_options opts;
  opts.reader_check_interval = std::chrono::milliseconds{0};
  auto store = open_store(dir.path(), opts);
  auto batches = sample_batches();
  REQUIRE(store->apply(batches[0]));
  REQUIRE(child.hold());
  child.die();
  CHECK_EQ(store->readers_in_use(), 1u);
  REQUIRE(store->apply(batches[1]));
  CHECK_EQ(store->stale_readers_cleared(), 1u);
  CHECK_EQ(store->readers_in_use(), 0u);
  CHECK_EQ(store->last_applied(), 4u);
}

TEST_CASE("lmdb chain store: a forked child cannot apply, the parent can") {
  test_directory dir;
  auto store = open_store(dir.path());
  auto batches = sample_batches();
  REQUIRE(store->apply(batches[0]));
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int failed = 0;
    if (!store->forked())
      failed |= 1;
    if (store->apply(batches[1]))
      failed |= 2;
    if (code_of(store->last_error()) != errc::storage_error)
      failed |= 4;
    if (store->read(0, "a"))
      failed |= 8;
    store.reset();
    _exit(failed);
  }
  int status = -1;
  REQUIRE_EQ(waitpid(pid, &status, 0), pid);
  REQUIRE(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  REQUIRE(store->apply(batches[1]));
  CHECK_EQ(store->last_applied(), 4u);
  CHECK_EQ(*store->read(0, "a"), "one");
}
