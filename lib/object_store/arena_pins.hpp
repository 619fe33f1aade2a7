#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"

namespace cafray {

/// The store's books on the processes of its node that map the node's
/// shared-memory arena (clients): which objects each one reads in place
/// (pins) and which regions it reserved to write an object into. A pin or a
/// reservation holds a keepalive (the object's bytes, or the region) that
/// keeps the memory from being freed or reused while the client may touch
/// it; dropping a client (its process died, or it stopped) drops them all.
///
/// Pins are counted: every get answered in place adds one, every unpin
/// message takes one. Messages may overtake each other (an unpin sent from
/// one thread may arrive before the seal sent from another), so an unpin
/// of a pin not yet held is remembered and cancels the next pin.
///
/// Pure bookkeeping, no actors; not thread-safe (the store actor owns it).
class arena_pins {
public:
  using hold = std::shared_ptr<const void>;

  /// A new client; numbers start at 1 and are never reused.
  uint64_t add_client();

  bool has_client(uint64_t client) const {
    return clients_.count(client) != 0;
  }

  /// Adds one pin of `client` on `id`, keeping `bytes`. Returns false (and
  /// keeps nothing) for an unknown client or when an earlier unpin cancels
  /// it.
  bool pin(uint64_t client, const object_id& id, hold bytes);

  /// Drops one pin of `client` on `id` (the keepalive goes with the last).
  /// Returns false if none was held (the unpin then cancels the next pin).
  bool unpin(uint64_t client, const object_id& id);

  /// Pins of `client` on `id`.
  uint64_t pins(uint64_t client, const object_id& id) const;

  /// Records a region reserved by `client`; false for an unknown client.
  bool reserve(uint64_t client, uint64_t offset, hold region);

  /// Takes a reservation out (the client sealed it); empty if none.
  hold take_reservation(uint64_t client, uint64_t offset);

  /// The client went: drops its pins and reservations.
  void drop_client(uint64_t client);

  size_t clients() const {
    return clients_.size();
  }

  /// Pins held by all clients.
  uint64_t total_pins() const {
    return total_pins_;
  }

  /// Regions reserved and not sealed yet.
  size_t reservations() const;

private:
  struct pinned {
    int64_t count = 0;  // negative: unpins ahead of their pins
    hold bytes;
  };

  struct client_books {
    std::unordered_map<object_id, pinned> pins;
    std::unordered_map<uint64_t, hold> reserved;  // by offset
  };

  std::unordered_map<uint64_t, client_books> clients_;
  uint64_t next_client_ = 1;
  uint64_t total_pins_ = 0;
};

} // namespace cafray
