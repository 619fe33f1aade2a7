// The store's books on the processes that map the node's arena.

#include <doctest/doctest.h>

#include <memory>

#include "object_store/arena_pins.hpp"

using namespace cafray;

namespace {

object_id oid(uint64_t n) {
  return object_id{task_id{3, n}, 1};
}

/// A keepalive whose use count shows whether the books still hold it.
std::shared_ptr<const void> token() {
  return std::make_shared<const int>(0);
}

} // namespace

TEST_CASE("clients get distinct numbers; unknown ones pin nothing") {
  arena_pins books;
  CHECK_EQ(books.add_client(), 1u);
  CHECK_EQ(books.add_client(), 2u);
  CHECK(books.has_client(2));
  CHECK_FALSE(books.has_client(3));
  CHECK_FALSE(books.pin(3, oid(1), token()));
  CHECK_EQ(books.total_pins(), 0u);
  CHECK_FALSE(books.reserve(3, 64, token()));
}

TEST_CASE("pins are counted and hold the bytes until the last goes") {
  arena_pins books;
  auto c = books.add_client();
  auto bytes = token();
  CHECK(books.pin(c, oid(1), bytes));
  CHECK(books.pin(c, oid(1), bytes));
  CHECK_EQ(books.pins(c, oid(1)), 2u);
  CHECK_EQ(books.total_pins(), 2u);
  CHECK_EQ(bytes.use_count(), 2);
  CHECK(books.unpin(c, oid(1)));
  CHECK_EQ(bytes.use_count(), 2);
  CHECK(books.unpin(c, oid(1)));
  CHECK_EQ(bytes.use_count(), 1);
  CHECK_EQ(books.total_pins(), 0u);
  CHECK_EQ(books.pins(c, oid(1)), 0u);
}

TEST_CASE("an unpin that overtakes its pin cancels it") {
  arena_pins books;
  auto c = books.add_client();
  auto bytes = token();
  CHECK_FALSE(books.unpin(c, oid(1)));
  CHECK_FALSE(books.pin(c, oid(1), bytes));
  CHECK_EQ(bytes.use_count(), 1);
  CHECK_EQ(books.total_pins(), 0u);
  // The books are even again: the next pin holds.
  CHECK(books.pin(c, oid(1), bytes));
  CHECK_EQ(books.pins(c, oid(1)), 1u);
}

TEST_CASE("pins of one client do not answer for another's") {
  arena_pins books;
  auto a = books.add_client();
  auto b = books.add_client();
  auto bytes = token();
  CHECK(books.pin(a, oid(1), bytes));
  CHECK(books.pin(b, oid(1), bytes));
  CHECK(books.unpin(a, oid(1)));
  CHECK_EQ(books.pins(b, oid(1)), 1u);
  CHECK_EQ(books.total_pins(), 1u);
}

TEST_CASE("a reservation is taken out once") {
  arena_pins books;
  auto c = books.add_client();
  auto region = token();
  CHECK(books.reserve(c, 128, region));
  CHECK_EQ(books.reservations(), 1u);
  CHECK(books.take_reservation(c, 64).get() == nullptr);
  CHECK(books.take_reservation(c, 128).get() == region.get());
  CHECK(books.take_reservation(c, 128).get() == nullptr);
  CHECK_EQ(books.reservations(), 0u);
}

TEST_CASE("dropping a client drops its pins and reservations") {
  arena_pins books;
  auto a = books.add_client();
  auto b = books.add_client();
  auto bytes = token();
  auto region = token();
  CHECK(books.pin(a, oid(1), bytes));
  CHECK(books.pin(a, oid(2), bytes));
  CHECK(books.pin(a, oid(2), bytes));
  CHECK(books.pin(b, oid(1), bytes));
  CHECK(books.reserve(a, 0, region));
  CHECK_EQ(books.total_pins(), 4u);
  books.drop_client(a);
  CHECK_FALSE(books.has_client(a));
  CHECK_EQ(books.total_pins(), 1u);
  CHECK_EQ(books.reservations(), 0u);
  CHECK_EQ(region.use_count(), 1);
  CHECK_EQ(bytes.use_count(), 2);  // b's pin and this test's
  CHECK_EQ(books.clients(), 1u);
}
