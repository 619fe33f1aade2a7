// The conversions between the chain logic and its messages.

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "gcs/chain_codec.hpp"
#include "gcs/chain_wire.hpp"

using namespace cafray;

TEST_CASE("writes keep puts, empty values and erases apart") {
  auto put = from_wire(to_wire(chain_write{3, "k", std::string{}}));
  CHECK_EQ(put.table, 3u);
  CHECK_EQ(put.key, "k");
  CHECK_EQ(put.value, std::string{});
  auto erase = from_wire(to_wire(chain_write{3, "k", std::nullopt}));
  CHECK_EQ(erase.value, std::nullopt);
}

TEST_CASE("a client's writes travel as one block") {
  // Through the client's encoder, CAF's serializer, and the head's decoder.
  request_block block;
  std::string value{"b\0c", 3};
  block.add(7, 5, 1, "a", &value);
  block.add(8, 5, 1, "c", nullptr);
  std::string empty;
  block.add(9, 6, 0, "d", &empty);
  CHECK_EQ(block.count(), 3u);
  wire::chain_write_batch batch{4, 42, block.finish()};
  CHECK_EQ(block.count(), 0u);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(batch));
  wire::chain_write_batch copy;
  caf::binary_deserializer source{nullptr, buf};
  REQUIRE_FALSE(source(copy));
  std::vector<chain_write_request> requests;
  REQUIRE(requests_from_wire(copy, requests));
  REQUIRE_EQ(requests.size(), 3u);
  CHECK_EQ(requests[0].epoch, 4u);
  CHECK_EQ(requests[0].request, 7u);
  CHECK_EQ(requests[0].oldest_pending, 5u);
  CHECK_EQ(requests[0].write.table, 1u);
  CHECK_EQ(requests[0].write.key, "a");
  CHECK_EQ(requests[0].write.value, value);
  CHECK_EQ(requests[1].epoch, 4u);
  CHECK_EQ(requests[1].request, 8u);
  CHECK_EQ(requests[1].write.key, "c");
  CHECK_EQ(requests[1].write.value, std::nullopt);
  CHECK_EQ(requests[2].request, 9u);
  CHECK_EQ(requests[2].oldest_pending, 6u);
  CHECK_EQ(requests[2].write.table, 0u);
  CHECK_EQ(requests[2].write.value, std::string{});
  // A corrupt block adds nothing.
  copy.block.pop_back();
  std::vector<chain_write_request> none;
  CHECK_FALSE(requests_from_wire(copy, none));
  CHECK(none.empty());
  copy.block = "short";
  CHECK_FALSE(requests_from_wire(copy, none));
  CHECK(none.empty());
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

TEST_CASE("a forward carries its writes as one block") {
  std::vector<chain_entry> entries{
    chain_entry{10, 42, 7, 5, chain_write{1, "a", "b"}},
    chain_entry{11, 43, 8, 8, chain_write{2, "c", std::nullopt}},
    chain_entry{12, 42, 9, 5, chain_write{0, "d", std::string{}}}};
  wire::chain_forward fwd;
  fwd.epoch = 3;
  fwd.from = 1;
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
  REQUIRE_EQ(out.size(), 3u);
  for (size_t i = 0; i < entries.size(); ++i) {
    CAPTURE(i);
    CHECK_EQ(out[i].seq, entries[i].seq);
    CHECK_EQ(out[i].client, entries[i].client);
    CHECK_EQ(out[i].request, entries[i].request);
    CHECK_EQ(out[i].oldest_pending, entries[i].oldest_pending);
    CHECK_EQ(out[i].write.table, entries[i].write.table);
    CHECK_EQ(out[i].write.key, entries[i].write.key);
    CHECK_EQ(out[i].write.value, entries[i].write.value);
  }
  // A corrupt block adds nothing.
  copy.block.pop_back();
  std::vector<chain_entry> none;
  CHECK_FALSE(entries_from_wire(copy, none));
  CHECK(none.empty());
}
