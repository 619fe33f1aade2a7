// User values travel as Boost.Serialization bytes (worker/codec.hpp):
// floating point bit patterns included, which CAF's serializer breaks.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "worker/codec.hpp"

using namespace cafray;

namespace {

uint64_t bits(double x) {
  uint64_t result;
  std::memcpy(&result, &x, sizeof(x));
  return result;
}

double from_bits(uint64_t x) {
  double result;
  std::memcpy(&result, &x, sizeof(x));
  return result;
}

struct point {
  int x = 0;
  double y = 0;
  std::string label;
  std::vector<int> tags;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& x& y& label& tags;
  }
};

template <class T>
T round_trip(const T& x) {
  auto bytes = encode(x);
  return decode<T>(bytes);
}

} // namespace

TEST_CASE("int round trips, negative and extreme values included") {
  CHECK_EQ(round_trip(0), 0);
  CHECK_EQ(round_trip(-17), -17);
  CHECK_EQ(round_trip(std::numeric_limits<int>::min()),
           std::numeric_limits<int>::min());
  CHECK_EQ(round_trip(std::numeric_limits<int>::max()),
           std::numeric_limits<int>::max());
  CHECK_EQ(encode(5).size(), sizeof(int));
}

TEST_CASE("double keeps -0.0, infinities, NaN payloads and denormals bit for "
          "bit") {
  const uint64_t patterns[] = {
    bits(0.0),
    bits(-0.0),
    bits(std::numeric_limits<double>::infinity()),
    bits(-std::numeric_limits<double>::infinity()),
    0x7ff8000000000000ULL,  // quiet NaN
    0x7ff0000000000001ULL,  // signalling NaN with payload 1
    0xfff8000000000badULL,  // negative NaN with a payload
    bits(std::numeric_limits<double>::denorm_min()),
    bits(3.141592653589793),
  };
  for (auto pattern : patterns) {
    CAPTURE(pattern);
    CHECK_EQ(bits(round_trip(from_bits(pattern))), pattern);
  }
  CHECK(std::signbit(round_trip(-0.0)));
  CHECK(std::isinf(round_trip(std::numeric_limits<double>::infinity())));
}

TEST_CASE("strings and arithmetic vectors are stored as their raw bytes") {
  auto s = encode(std::string{"a\0b", 3});
  CHECK_EQ(std::string(s.data(), s.size()), std::string{"a\0b", 3});
  auto v = encode(std::vector<int32_t>{1, -1});
  REQUIRE_EQ(v.size(), 8u);
  int32_t raw[2];
  std::memcpy(raw, v.data(), 8);
  CHECK_EQ(raw[0], 1);
  CHECK_EQ(raw[1], -1);
  CHECK(encode(std::vector<double>{}).empty());
}

TEST_CASE("string round trips, embedded zero bytes included") {
  CHECK_EQ(round_trip(std::string{}), "");
  CHECK_EQ(round_trip(std::string{"hello"}), "hello");
  CHECK_EQ(round_trip(std::string{"a\0b\xff", 4}), std::string{"a\0b\xff", 4});
}

TEST_CASE("vector<double> round trips with special values") {
  std::vector<double> x{1.5, -0.0, std::numeric_limits<double>::infinity(),
                        from_bits(0x7ff0000000000001ULL)};
  auto y = round_trip(x);
  REQUIRE_EQ(y.size(), 4u);
  for (size_t i = 0; i < x.size(); ++i)
    CHECK_EQ(bits(y[i]), bits(x[i]));
  CHECK(round_trip(std::vector<double>{}).empty());
}

TEST_CASE("map<string, vector<int>> round trips") {
  std::map<std::string, std::vector<int>> x{
    {"", {}},
    {"odd", {1, 3, 5}},
    {"neg", {-1, std::numeric_limits<int>::min()}}};
  CHECK(round_trip(x) == x);
}

TEST_CASE("a user struct with a serialize member round trips") {
  point p;
  p.x = -3;
  p.y = -0.0;
  p.label = "origin";
  p.tags = {7, 8};
  auto q = round_trip(p);
  CHECK_EQ(q.x, -3);
  CHECK_EQ(bits(q.y), bits(-0.0));
  CHECK_EQ(q.label, "origin");
  CHECK(q.tags == std::vector<int>{7, 8});
}

TEST_CASE("decoding garbage throws") {
  // An arithmetic value of the wrong width.
  CHECK_THROWS_WITH_AS(decode<int>("abc", 3), "value has 3 bytes, expected 4",
                       std::runtime_error);
  CHECK_THROWS_AS(decode<double>(encode(1)), std::runtime_error);
  // Raw-coded vectors: a size that is no multiple of the element size.
  auto vec = encode(std::vector<double>{1, 2, 3});
  REQUIRE_EQ(vec.size(), 24u);
  CHECK_THROWS_WITH_AS(decode<std::vector<double>>(vec.data(), 23),
                       "value has 23 bytes, not a multiple of 8",
                       std::runtime_error);
  // A truncated Boost archive.
  std::map<std::string, std::vector<int>> m{{"key", {1, 2, 3}}};
  auto bytes = encode(m);
  REQUIRE_GT(bytes.size(), 5u);
  using map_type = std::map<std::string, std::vector<int>>;
  CHECK_THROWS_AS(decode<map_type>(bytes.data(), 5), std::exception);
  CHECK_THROWS_AS(decode<map_type>(bytes.data(), bytes.size() - 1),
                  std::exception);
  // Nothing at all.
  CHECK_THROWS_AS(decode<point>(nullptr, 0), std::exception);
}
