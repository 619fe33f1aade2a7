#include "object_store/arena_pins.hpp"

namespace cafray {

uint64_t arena_pins::add_client() {
  auto id = next_client_++;
  clients_.emplace(id, client_books{});
  return id;
}

bool arena_pins::pin(uint64_t client, const object_id& id, hold bytes) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return false;
  auto& p = c->second.pins[id];
  if (p.count < 0) {
    // Its unpin came first.
    if (++p.count == 0)
      c->second.pins.erase(id);
    return false;
  }
  if (p.count++ == 0)
    p.bytes = std::move(bytes);
  ++total_pins_;
  return true;
}

bool arena_pins::unpin(uint64_t client, const object_id& id) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return false;
  auto& books = c->second.pins;
  auto i = books.find(id);
  if (i == books.end() || i->second.count <= 0) {
    --books[id].count;
    return false;
  }
  --total_pins_;
  if (--i->second.count == 0)
    books.erase(i);
  return true;
}

uint64_t arena_pins::pins(uint64_t client, const object_id& id) const {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return 0;
  auto i = c->second.pins.find(id);
  return i == c->second.pins.end() || i->second.count < 0
           ? 0
           : static_cast<uint64_t>(i->second.count);
}

bool arena_pins::reserve(uint64_t client, uint64_t offset, hold region) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return false;
  c->second.reserved[offset] = std::move(region);
  return true;
}

arena_pins::hold arena_pins::take_reservation(uint64_t client,
                                              uint64_t offset) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return nullptr;
  auto i = c->second.reserved.find(offset);
  if (i == c->second.reserved.end())
    return nullptr;
  auto result = std::move(i->second);
  c->second.reserved.erase(i);
  return result;
}

void arena_pins::drop_client(uint64_t client) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return;
  for (auto& [id, p] : c->second.pins)
    if (p.count > 0)
      total_pins_ -= static_cast<uint64_t>(p.count);
  clients_.erase(c);
}

size_t arena_pins::reservations() const {
  size_t n = 0;
  for (auto& [id, books] : clients_)
    n += books.reserved.size();
  return n;
}

} // namespace cafray
