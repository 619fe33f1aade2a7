// The conversions between the chain logic and its messages.

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "gcs/chain_codec.hpp"
#include "gcs/chain_wire.hpp"

using namespace cafray;

TEST_CASE("writes and entries keep puts, empty values and erases apart") {
  auto put = from_wire(to_wire(chain_write{3, "k", std::string{}}));
  CHECK_EQ(put.table, 3u);
  CHECK_EQ(put.key, "k");
  CHECK_EQ(put.value, std::string{});
  auto erase = from_wire(to_wire(chain_write{3, "k", std::nullopt}));
  CHECK_EQ(erase.value, std::nullopt);
  chain_entry entry{9, 42, 7, 5, chain_write{1, "a", "b"}};
  auto back = from_wire(to_wire(entry));
  CHECK_EQ(back.seq, 9u);
  CHECK_EQ(back.client, 42u);
  CHECK_EQ(back.request, 7u);
  CHECK_EQ(back.oldest_pending, 5u);
  CHECK_EQ(back.write.value, "b");
  wire::chain_write_batch batch{4, 42, {{7, 5, {1, "a", false, "b"}},
                                        {8, 5, {1, "c", true, ""}}}};
  auto requests = requests_from_wire(batch);
  REQUIRE_EQ(requests.size(), 2u);
  CHECK_EQ(requests[1].epoch, 4u);
  CHECK_EQ(requests[1].request, 8u);
  CHECK_EQ(requests[1].oldest_pending, 5u);
  CHECK_EQ(requests[1].write.value, std::nullopt);
}

TEST_CASE("a snapshot travels in parts and comes back whole") {
  chain_snapshot_transfer transfer;
  transfer.attempt = 3;
  transfer.snapshot.seq = 500;
  for (int i = 0; i < 100; ++i)
    transfer.snapshot.rows.push_back(
      chain_row{static_cast<uint8_t>(i % 3), "key-" + std::to_string(i),
                std::string(100, 'a' + i % 26)});
  transfer.snapshot.clients[42] = chain_client_record{5, {{5, 400}, {6, 401}}};
  transfer.snapshot.clients[43] = chain_client_record{1, {}};
  // About 8 rows of 124 bytes per kilobyte part.
  auto parts = snapshot_to_chunks(7, transfer, 1000);
  REQUIRE_EQ(parts.size(), 13u);
  for (size_t i = 0; i < parts.size(); ++i) {
    CAPTURE(i);
    CHECK_EQ(parts[i].from, 7u);
    CHECK_EQ(parts[i].attempt, 3u);
    CHECK_EQ(parts[i].seq, 500u);
    CHECK_EQ(parts[i].index, i);
    CHECK_EQ(parts[i].last, i + 1 == parts.size());
  }
  std::reverse(parts.begin(), parts.end());
  auto back = snapshot_from_chunks(parts);
  CHECK_EQ(back.attempt, 3u);
  CHECK_EQ(back.snapshot.seq, 500u);
  REQUIRE_EQ(back.snapshot.rows.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    CHECK_EQ(back.snapshot.rows[i].table, transfer.snapshot.rows[i].table);
    CHECK_EQ(back.snapshot.rows[i].key, transfer.snapshot.rows[i].key);
    CHECK_EQ(back.snapshot.rows[i].value, transfer.snapshot.rows[i].value);
  }
  CHECK_EQ(back.snapshot.clients, transfer.snapshot.clients);
  // An empty state is one part.
  chain_snapshot_transfer empty;
  auto one = snapshot_to_chunks(7, empty, 1000);
  REQUIRE_EQ(one.size(), 1u);
  CHECK(one.front().last);
  CHECK(one.front().rows.empty());
}

TEST_CASE("a forward carries its writes as one block, after any structs") {
  std::vector<chain_entry> entries{
    chain_entry{10, 42, 7, 5, chain_write{1, "a", "b"}},
    chain_entry{11, 43, 8, 8, chain_write{2, "c", std::nullopt}},
    chain_entry{12, 42, 9, 5, chain_write{0, "d", std::string{}}}};
  wire::chain_forward fwd;
  fwd.epoch = 3;
  fwd.from = 1;
  fwd.entries.push_back(to_wire(chain_entry{9, 41, 1, 1, {0, "z", "y"}}));
  append_entries(fwd.block, entries.data(), entries.size());
  // Through CAF's serializer: the block is one string.
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(fwd));
  wire::chain_forward copy;
  caf::binary_deserializer source{nullptr, buf};
  REQUIRE_FALSE(source(copy));
  CHECK_EQ(copy.block, fwd.block);
  std::vector<chain_entry> out;
  REQUIRE(entries_from_wire(copy, out));
  REQUIRE_EQ(out.size(), 4u);
  CHECK_EQ(out[0].seq, 9u);
  CHECK_EQ(out[0].write.key, "z");
  for (size_t i = 0; i < entries.size(); ++i) {
    CAPTURE(i);
    CHECK_EQ(out[i + 1].seq, entries[i].seq);
    CHECK_EQ(out[i + 1].client, entries[i].client);
    CHECK_EQ(out[i + 1].request, entries[i].request);
    CHECK_EQ(out[i + 1].oldest_pending, entries[i].oldest_pending);
    CHECK_EQ(out[i + 1].write.table, entries[i].write.table);
    CHECK_EQ(out[i + 1].write.key, entries[i].write.key);
    CHECK_EQ(out[i + 1].write.value, entries[i].write.value);
  }
  // A corrupt block adds nothing, not even the structs before it.
  copy.block.pop_back();
  std::vector<chain_entry> none;
  CHECK_FALSE(entries_from_wire(copy, none));
  CHECK(none.empty());
}
