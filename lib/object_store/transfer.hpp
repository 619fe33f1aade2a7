#pragma once

// The path object bytes take between nodes: a transfer server on every node
// serves the sealed objects of its store by ID, and a transfer client pulls
// one object from a holder in chunks, writing straight into a destination
// the caller allocates once the size is known. Plain TCP sockets, each side
// driven by one epoll thread of its own: CAF messages (and an io::broker on
// the middleman's one thread) copy every byte twice more and moved 256 MiB
// at ~0.7 GB/s on loopback, where this path moves 2-3 GB/s, as fast as
// plain TCP between the same processes (bench/transfer_bench.cpp).
//
// Example: a store serves its sealed objects, and pulls one it lacks and
// tells its actor:
//
//   transfer_server server{{"0.0.0.0", 0}, [&](const object_id& id) {
//     return arena.find_pinned(id);  // std::optional<transfer_source>
//   }};
//   if (auto err = server.start()) ...  // the GCS records server.port()
//   transfer_client client;
//   client.pull({"10.0.0.2", 7100}, id,
//     [&](uint64_t size) -> caf::expected<char*> { return arena.alloc(size); },
//     [self, id](caf::expected<uint64_t> r) {
//       caf::anon_send(self, pulled_atom::value, id, r ? caf::error{}
//                                                      : r.error());
//     });

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "common/ids.hpp"

namespace cafray {

/// The bytes of one object on the serving node.
struct transfer_source {
  /// First byte; may be null when `size` is 0.
  const char* data = nullptr;
  uint64_t size = 0;
  /// Keeps the bytes alive and in place (the store's pin). The server holds
  /// it from a pull's first request until the reply that reaches the
  /// object's end is sent (the kernel has copied every byte), or the
  /// connection closes; its deleter may run on the server's thread.
  std::shared_ptr<const void> pin;
};

/// Finds an object for the server. Runs on the server's thread, once per
/// pull (at its first request): must be thread-safe against the store and quick
/// (it stalls every transfer of this server while it runs) and must not
/// call `stop`. An exception counts as an unknown object.
using object_resolver =
  std::function<std::optional<transfer_source>(const object_id&)>;

/// Where a transfer server listens, as the GCS would record it.
struct transfer_endpoint {
  std::string host;
  uint16_t port = 0;
};

struct transfer_server_config {
  /// Numeric bind address: "0.0.0.0" (or "::") for every interface,
  /// "127.0.0.1" for tests.
  std::string host = "0.0.0.0";
  /// 0 picks a free port; `transfer_server::port()` tells which.
  uint16_t port = 0;
  /// Further connections are closed as soon as they are accepted.
  size_t max_connections = 256;
  /// A connection that owes a reply and cannot send any of it for this long
  /// (the client stopped reading) is closed and its pin dropped.
  std::chrono::milliseconds io_timeout{10000};
  /// A connection with nothing to do for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
};

/// Serves object bytes by ID on a TCP port. Thread-safe; the destructor
/// stops it.
class transfer_server {
public:
  transfer_server(transfer_server_config cfg, object_resolver resolve);
  ~transfer_server();

  transfer_server(const transfer_server&) = delete;
  transfer_server& operator=(const transfer_server&) = delete;

  /// Binds, listens and starts the server's thread. Fails with
  /// errc::invalid_config (bad address) or errc::runtime_error (port in use,
  /// no sockets) and a description; calling it twice is an error.
  caf::error start();

  /// The port it listens on (after a successful start), 0 before.
  uint16_t port() const noexcept;

  /// Stops accepting, closes every connection (dropping their pins) and
  /// joins the thread. Idempotent; returns within a few milliseconds.
  void stop();

  /// Connections open right now (for tests and status).
  size_t connections() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct transfer_client_config {
  /// Bytes per request; the last chunk of an object is shorter.
  uint64_t chunk_size = 4ull << 20;
  /// Requests a pull keeps in flight on its connection.
  int chunks_in_flight = 4;
  /// Pulls transferring at once; the rest wait in arrival order.
  size_t max_active_pulls = 8;
  /// Connecting longer than this fails with errc::peer_unreachable.
  std::chrono::milliseconds connect_timeout{3000};
  /// A pull receiving nothing for this long fails with errc::timeout.
  std::chrono::milliseconds io_timeout{10000};
  /// Connections kept open per peer after their pull, for the next pulls
  /// from it (0: a connection per pull).
  size_t idle_per_peer = 8;
  /// An idle connection is closed after this long; keep it below the
  /// server's idle_timeout.
  std::chrono::milliseconds idle_timeout{20000};
};

/// Called once with the object's size, before any byte arrives: returns
/// where its `size` bytes go (it may be null for a zero-byte object), or an
/// error that ends the pull with that error (so does an exception). Runs
/// on the client's thread and must not call `stop`.
using destination_fn = std::function<caf::expected<char*>(uint64_t size)>;

/// Called exactly once when a pull ends, on the client's thread (or on the
/// caller's, when `pull` is called on a stopped client): the object's size,
/// or why it failed:
/// - errc::peer_unreachable: no connection to the holder,
/// - errc::not_found: the holder does not have the object,
/// - errc::connection_lost: the connection broke before the last byte,
/// - errc::timeout: the holder stopped sending,
/// - errc::shutting_down: the client was stopped,
/// - the destination's own error.
/// After a failure the destination (if it was allocated) holds partial
/// bytes and is the caller's to free. Must be short, must not throw and
/// must not call `stop` (an anon_send to an actor is the intended use); it
/// may call `pull` again (e.g. to try another holder).
using completion_fn = std::function<void(caf::expected<uint64_t>)>;

/// Pulls objects from transfer servers. One thread serves every pull; each
/// pull uses a connection of its own, which later pulls from the same peer
/// reuse. Thread-safe; the destructor stops it.
class transfer_client {
public:
  explicit transfer_client(transfer_client_config cfg = {});
  ~transfer_client();

  transfer_client(const transfer_client&) = delete;
  transfer_client& operator=(const transfer_client&) = delete;

  /// Starts pulling `id` from the server at `from` (a numeric address
  /// avoids a DNS lookup on the client's thread).
  void pull(transfer_endpoint from, const object_id& id, destination_fn dest,
            completion_fn done);

  /// Fails every pull not yet finished with errc::shutting_down, closes its
  /// connections and joins the thread. Idempotent.
  void stop();

  /// Pulls started and not finished yet, waiting ones included.
  size_t pending() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cafray
