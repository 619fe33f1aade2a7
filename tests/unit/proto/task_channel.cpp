// The task channel's frames (proto/task_channel.hpp): what one side appends,
// the other cuts out again, however the bytes arrive.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "proto/task_channel.hpp"

using namespace cafray;

namespace {

task_spec sample_task(uint64_t n) {
  task_spec x;
  x.id = task_id{n, n + 1};
  x.function = "f" + std::to_string(n);
  x.signature = 0xabcdef;
  task_arg arg;
  arg.value = blob{std::vector<char>(static_cast<size_t>(n) * 10, 'x')};
  x.args.push_back(arg);
  x.resources = {{"CPU", 1000}};
  x.max_retries = static_cast<int32_t>(n);
  return x;
}

/// Feeds `bytes` to a reader in pieces of `step` and collects the frames.
std::vector<std::vector<char>> cut(const std::vector<char>& bytes, size_t step,
                                   std::vector<channel::frame_kind>& kinds,
                                   bool& bad) {
  channel::reader in;
  std::vector<std::vector<char>> bodies;
  bad = false;
  for (size_t pos = 0; pos < bytes.size() && !bad; pos += step) {
    auto n = std::min(step, bytes.size() - pos);
    std::memcpy(in.space(n), bytes.data() + pos, n);
    in.filled(n);
    channel::frame f;
    while (in.next(f, bad)) {
      kinds.push_back(f.kind);
      bodies.emplace_back(f.body, f.body + f.size);
    }
  }
  return bodies;
}

} // namespace

TEST_SUITE("task channel") {

TEST_CASE("frames come out as they went in, in any pieces") {
  std::vector<char> bytes;
  channel::append(bytes, channel::frame_kind::hello, uint64_t{42});
  for (uint64_t n = 0; n < 5; ++n)
    channel::append(bytes, channel::frame_kind::task, sample_task(n));
  std::vector<object_id> ids{object_id{task_id{1, 2}, 1}};
  object_payload payload;
  payload.data = blob{std::vector<char>{'v', 'a', 'l', 'u', 'e'}};
  std::vector<object_payload> payloads{payload};
  std::vector<object_id> stored{object_id{task_id{3, 4}, 1}};
  channel::append(bytes, channel::frame_kind::results, ids, payloads, stored);
  channel::append(bytes, channel::frame_kind::bye);
  for (size_t step : {size_t{1}, size_t{3}, size_t{64}, bytes.size()}) {
    CAPTURE(step);
    std::vector<channel::frame_kind> kinds;
    bool bad = true;
    auto bodies = cut(bytes, step, kinds, bad);
    CHECK_FALSE(bad);
    REQUIRE_EQ(kinds.size(), 8u);
    CHECK(kinds.front() == channel::frame_kind::hello);
    CHECK(kinds.back() == channel::frame_kind::bye);
    CHECK(bodies.back().empty());
    channel::frame f;
    f.body = bodies[0].data();
    f.size = bodies[0].size();
    uint64_t token = 0;
    REQUIRE(f.decode(token));
    CHECK_EQ(token, 42u);
    for (uint64_t n = 0; n < 5; ++n) {
      CHECK(kinds[1 + n] == channel::frame_kind::task);
      f.body = bodies[1 + n].data();
      f.size = bodies[1 + n].size();
      task_spec x;
      REQUIRE(f.decode(x));
      CHECK(x.id == sample_task(n).id);
      CHECK_EQ(x.function, "f" + std::to_string(n));
      CHECK_EQ(x.args.at(0).value.size(), n * 10);
      CHECK_EQ(x.max_retries, static_cast<int32_t>(n));
    }
    f.body = bodies[6].data();
    f.size = bodies[6].size();
    std::vector<object_id> ids2;
    std::vector<object_payload> payloads2;
    std::vector<object_id> stored2;
    REQUIRE(f.decode(ids2, payloads2, stored2));
    CHECK(ids2 == ids);
    REQUIRE_EQ(payloads2.size(), 1u);
    CHECK_EQ(std::string(payloads2[0].data.data(), payloads2[0].data.size()),
             "value");
    CHECK(stored2 == stored);
  }
}

TEST_CASE("a frame's body must hold exactly what the reader asks for") {
  std::vector<char> bytes;
  channel::append(bytes, channel::frame_kind::hello, uint64_t{7}, uint64_t{8});
  std::vector<channel::frame_kind> kinds;
  bool bad = false;
  auto bodies = cut(bytes, bytes.size(), kinds, bad);
  REQUIRE_EQ(bodies.size(), 1u);
  channel::frame f;
  f.body = bodies[0].data();
  f.size = bodies[0].size();
  uint64_t one = 0;
  CHECK_FALSE(f.decode(one));  // a byte too many
  task_spec spec;
  CHECK_FALSE(f.decode(spec));
}

TEST_CASE("a length of zero or beyond the limit is a broken stream") {
  for (uint32_t length : {0u, channel::max_frame + 1}) {
    std::vector<char> bytes{static_cast<char>(length >> 24),
                            static_cast<char>((length >> 16) & 0xff),
                            static_cast<char>((length >> 8) & 0xff),
                            static_cast<char>(length & 0xff), 2, 0, 0};
    std::vector<channel::frame_kind> kinds;
    bool bad = false;
    cut(bytes, bytes.size(), kinds, bad);
    CHECK(bad);
    CHECK(kinds.empty());
  }
}

} // TEST_SUITE
