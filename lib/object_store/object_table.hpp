#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "object_store/local_objects.hpp"
#include "proto/messages.hpp"

namespace cafray {

/// The objects of one store and the requests waiting for them. Pure logic:
/// the actor maps request tokens to response promises or listeners.
///
/// A request waits for `needed` of its objects; `get` needs all of them,
/// `wait` needs k, a subscription needs its single object.
class object_table {
public:
  struct request {
    std::vector<object_id> ids;
    std::vector<uint8_t> ready;  // one flag per id
    size_t needed = 0;
    size_t have = 0;
  };

  /// Keeps objects in `storage` (shared with same-process readers), or in a
  /// private one.
  explicit object_table(std::shared_ptr<local_objects> storage
                        = std::make_shared<local_objects>());

  /// Seals an object, or adopts one a producer sealed in the arena already.
  /// Returns the tokens of requests that became complete, in the order they
  /// were made. A second seal of the same ID only completes requests
  /// (`fresh` tells).
  std::vector<uint64_t> seal(const object_id& id, object_payload payload,
                             bool* fresh = nullptr);

  /// The payload, or nothing if the object does not exist (yet).
  std::optional<object_payload> find(const object_id& id) const;

  bool contains(const object_id& id) const {
    return storage_->contains(id);
  }

  /// Opens a request. Returns its token; `complete` tells whether it is
  /// satisfied already (then it is not tracked and needs no `close`).
  uint64_t open(std::vector<object_id> ids, size_t needed, bool& complete,
                request* out = nullptr);

  /// The request behind a token, or nullptr once closed.
  request* find_request(uint64_t token);

  /// Forgets a request (completed or timed out).
  void close(uint64_t token);

  /// The owner dropped these objects: free them, or free them on arrival.
  void release(const std::vector<object_id>& ids);

  size_t size() const {
    return storage_->size();
  }

  uint64_t bytes() const {
    return storage_->bytes();
  }

  const std::shared_ptr<local_objects>& storage() const noexcept {
    return storage_;
  }

  size_t pending_requests() const {
    return requests_.size();
  }

private:
  std::shared_ptr<local_objects> storage_;
  std::unordered_map<uint64_t, request> requests_;
  /// Per missing object: (request token, position in the request's ids).
  std::unordered_map<object_id, std::vector<std::pair<uint64_t, size_t>>>
    waiting_;
  uint64_t next_token_ = 1;
};

} // namespace cafray
