// The transfer path between nodes: a transfer server and client on
// 127.0.0.1, exact bytes, the typed failures, and that every socket and
// thread is gone afterwards.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "object_store/transfer.hpp"
#include "object_store/transfer_wire.hpp"

using namespace cafray;
using namespace std::chrono_literals;

namespace {

object_id oid(uint64_t n) {
  return object_id{task_id{42, n}, 3};
}

std::vector<char> pattern(size_t n, uint32_t seed) {
  std::vector<char> result(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    result[i] = static_cast<char>(x >> 24);
  }
  return result;
}

size_t open_fds() {
  size_t n = 0;
  if (auto dir = ::opendir("/proc/self/fd")) {
    while (::readdir(dir))
      ++n;
    ::closedir(dir);
  }
  return n;
}

/// The objects a test server serves, with a pin each test can watch.
struct shelf {
  std::mutex mtx;
  std::unordered_map<object_id, std::shared_ptr<std::vector<char>>> objects;

  std::weak_ptr<std::vector<char>> put(const object_id& id,
                                       std::vector<char> bytes) {
    auto ptr = std::make_shared<std::vector<char>>(std::move(bytes));
    std::lock_guard<std::mutex> guard{mtx};
    objects[id] = ptr;
    return ptr;
  }

  void drop(const object_id& id) {
    std::lock_guard<std::mutex> guard{mtx};
    objects.erase(id);
  }

  object_resolver resolver() {
    return [this](const object_id& id) -> std::optional<transfer_source> {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = objects.find(id);
      if (i == objects.end())
        return std::nullopt;
      return transfer_source{i->second->data(), i->second->size(), i->second};
    };
  }
};

transfer_server_config local_server() {
  transfer_server_config cfg;
  cfg.host = "127.0.0.1";
  return cfg;
}

/// What one pull ended with.
struct outcome {
  caf::expected<uint64_t> result{uint64_t{0}};
  std::shared_ptr<std::vector<char>> bytes;
  bool finished = false;
  std::chrono::milliseconds took{0};
};

/// Starts a pull into a fresh buffer; `await` gives its outcome.
class pending_pull {
public:
  pending_pull(transfer_client& client, uint16_t port, const object_id& id,
               std::function<void()> on_size = {})
    : start_(std::chrono::steady_clock::now()) {
    auto bytes = std::make_shared<std::vector<char>>();
    bytes_ = bytes;
    auto promise = std::make_shared<std::promise<caf::expected<uint64_t>>>();
    future_ = promise->get_future();
    client.pull(
      {"127.0.0.1", port}, id,
      [bytes, on_size](uint64_t size) -> caf::expected<char*> {
        bytes->assign(size, 0);
        if (on_size)
          on_size();
        return bytes->data();
      },
      [promise](caf::expected<uint64_t> r) { promise->set_value(r); });
  }

  /// Waits at most 30 s: a pull that never ends is a failure, not a hang.
  outcome await() {
    outcome o;
    o.bytes = bytes_;
    if (future_.wait_for(30s) != std::future_status::ready)
      return o;
    o.finished = true;
    o.result = future_.get();
    o.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
    return o;
  }

private:
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<std::vector<char>> bytes_;
  std::future<caf::expected<uint64_t>> future_;
};

errc code(const outcome& o) {
  return o.result ? errc::none : code_of(o.result.error());
}

bool same_bytes(const std::vector<char>& x, const std::vector<char>& y) {
  return x.size() == y.size()
         && (x.empty() || std::memcmp(x.data(), y.data(), x.size()) == 0);
}

/// A socket on 127.0.0.1 that listens (when `listening`) but never accepts
/// nor answers: the kernel completes connections to it.
struct silent_peer {
  int fd = -1;
  uint16_t port = 0;

  explicit silent_peer(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    if (listening)
      REQUIRE(::listen(fd, 8) == 0);
  }

  ~silent_peer() {
    ::close(fd);
  }
};

} // namespace

TEST_SUITE("transfer") {

TEST_CASE("frames round-trip") {
  using namespace transfer_wire;
  request req{object_id{task_id{0x0102030405060708, 0xf1f2f3f4f5f6f7f8},
                        object_id::put_flag | 9},
              0x1122334455667788, 4u << 20};
  char buf[request_size];
  encode(req, buf);
  request back;
  REQUIRE(decode(buf, back));
  CHECK(back.id == req.id);
  CHECK_EQ(back.offset, req.offset);
  CHECK_EQ(back.length, req.length);
  reply rep{status::unknown_object, 1ull << 40, 77, 5};
  char rbuf[reply_size];
  encode(rep, rbuf);
  reply rback;
  REQUIRE(decode(rbuf, rback));
  CHECK(rback.code == status::unknown_object);
  CHECK_EQ(rback.object_size, 1ull << 40);
  CHECK_EQ(rback.offset, 77u);
  CHECK_EQ(rback.length, 5u);
  CHECK_FALSE(decode(buf, rback));  // a request is no reply
}

TEST_CASE("a multi-chunk object arrives byte for byte and is unpinned") {
  auto fds = open_fds();
  {
    shelf objects;
    auto src = pattern((50u << 20) + 123, 1);
    auto pin = objects.put(oid(1), src);
    transfer_server server{local_server(), objects.resolver()};
    REQUIRE_FALSE(server.start());
    REQUIRE(server.port() != 0);
    // Default chunks (4 MiB: 13 of them), then small ones, so headers and
    // bodies split across reads in every way.
    for (uint64_t chunk : {uint64_t{4} << 20, uint64_t{65536} + 17}) {
      transfer_client_config cfg;
      cfg.chunk_size = chunk;
      cfg.chunks_in_flight = 3;
      transfer_client client{cfg};
      auto o = pending_pull{client, server.port(), oid(1)}.await();
      REQUIRE(o.finished);
      REQUIRE(o.result);
      CHECK_EQ(*o.result, src.size());
      CHECK(same_bytes(*o.bytes, src));
      CHECK_EQ(client.pending(), 0u);
    }
    objects.drop(oid(1));
    // The server drops its pin once the last chunk is sent.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!pin.expired() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK(pin.expired());
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("concurrent pulls, more than the client runs at once") {
  auto fds = open_fds();
  {
    shelf objects;
    std::vector<std::vector<char>> srcs;
    for (uint32_t i = 0; i < 6; ++i) {
      srcs.push_back(pattern((size_t{i} + 1) * (3u << 20) + i * 1001, i + 10));
      objects.put(oid(100 + i), srcs.back());
    }
    transfer_server server{local_server(), objects.resolver()};
    REQUIRE_FALSE(server.start());
    transfer_client_config cfg;
    cfg.chunk_size = 1u << 20;
    cfg.max_active_pulls = 3;
    transfer_client client{cfg};
    std::vector<std::unique_ptr<pending_pull>> pulls;
    // Each object twice: two readers of one object on one node.
    for (int round = 0; round < 2; ++round)
      for (uint32_t i = 0; i < 6; ++i)
        pulls.push_back(
          std::make_unique<pending_pull>(client, server.port(), oid(100 + i)));
    for (size_t k = 0; k < pulls.size(); ++k) {
      auto o = pulls[k]->await();
      REQUIRE(o.finished);
      REQUIRE(o.result);
      CHECK(same_bytes(*o.bytes, srcs[k % 6]));
    }
    CHECK_EQ(client.pending(), 0u);
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("later pulls from a holder reuse its connection") {
  auto fds = open_fds();
  {
    shelf objects;
    auto src = pattern(100000, 12);
    objects.put(oid(12), src);
    transfer_server server{local_server(), objects.resolver()};
    REQUIRE_FALSE(server.start());
    transfer_client client;
    for (int i = 0; i < 5; ++i) {
      auto o = pending_pull{client, server.port(), oid(12)}.await();
      REQUIRE(o.result);
      CHECK(same_bytes(*o.bytes, src));
      CHECK_EQ(server.connections(), 1u);
    }
    // Without reuse, each pull closes its connection.
    transfer_client_config cfg;
    cfg.idle_per_peer = 0;
    transfer_client once{cfg};
    REQUIRE(pending_pull{once, server.port(), oid(12)}.await().result);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (server.connections() > 1
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK_EQ(server.connections(), 1u);
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("a holder that restarted: pulls succeed on a fresh connection") {
  auto fds = open_fds();
  {
    shelf objects;
    auto src = pattern(300000, 13);
    objects.put(oid(13), src);
    auto first = std::make_unique<transfer_server>(local_server(),
                                                   objects.resolver());
    REQUIRE_FALSE(first->start());
    auto cfg = local_server();
    cfg.port = first->port();
    transfer_client client;
    REQUIRE(pending_pull{client, cfg.port, oid(13)}.await().result);
    first->stop();  // the client's idle connection is now closed
    transfer_server second{cfg, objects.resolver()};
    REQUIRE_FALSE(second.start());
    for (int i = 0; i < 3; ++i) {
      auto o = pending_pull{client, cfg.port, oid(13)}.await();
      REQUIRE(o.result);
      CHECK(same_bytes(*o.bytes, src));
    }
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("a zero-byte object") {
  shelf objects;
  objects.put(oid(2), {});
  transfer_server server{local_server(), objects.resolver()};
  REQUIRE_FALSE(server.start());
  transfer_client client;
  auto o = pending_pull{client, server.port(), oid(2)}.await();
  REQUIRE(o.finished);
  REQUIRE(o.result);
  CHECK_EQ(*o.result, 0u);
  CHECK(o.bytes->empty());
}

TEST_CASE("an object the holder lacks is not_found; the server serves on") {
  shelf objects;
  auto src = pattern(1000, 3);
  objects.put(oid(3), src);
  transfer_server server{local_server(), objects.resolver()};
  REQUIRE_FALSE(server.start());
  transfer_client client;
  auto missing = pending_pull{client, server.port(), oid(99)}.await();
  REQUIRE(missing.finished);
  CHECK_EQ(code(missing), errc::not_found);
  auto found = pending_pull{client, server.port(), oid(3)}.await();
  REQUIRE(found.finished);
  REQUIRE(found.result);
  CHECK(same_bytes(*found.bytes, src));
}

TEST_CASE("the destination's error ends the pull with that error") {
  shelf objects;
  objects.put(oid(4), pattern(5000, 4));
  transfer_server server{local_server(), objects.resolver()};
  REQUIRE_FALSE(server.start());
  transfer_client client;
  std::promise<caf::expected<uint64_t>> done;
  client.pull(
    {"127.0.0.1", server.port()}, oid(4),
    [](uint64_t size) -> caf::expected<char*> {
      CHECK_EQ(size, 5000u);
      return make_error(errc::runtime_error, "arena full");
    },
    [&](caf::expected<uint64_t> r) { done.set_value(r); });
  auto f = done.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE_FALSE(r);
  CHECK_EQ(render(r.error()), "runtime_error: internal runtime failure "
                              "(arena full)");
}

TEST_CASE("a server stopped mid-transfer: connection_lost, promptly") {
  auto fds = open_fds();
  {
    auto bytes = std::make_shared<std::vector<char>>(pattern(64u << 20, 5));
    std::weak_ptr<std::vector<char>> pin = bytes;
    auto server = std::make_unique<transfer_server>(
      local_server(), [&bytes](const object_id&) {
        return std::optional{
          transfer_source{bytes->data(), bytes->size(), bytes}};
      });
    REQUIRE_FALSE(server->start());
    auto port = server->port();
    transfer_client client;
    // The size arrives with the first chunk; the server stops before any
    // further chunk is asked for.
    auto o = pending_pull{client, port, oid(5), [&] {
               bytes.reset();  // only the transfer holds it now
               server->stop();
             }}.await();
    REQUIRE(o.finished);
    CHECK_EQ(code(o), errc::connection_lost);
    CHECK(o.took < 5s);
    CHECK(pin.expired());  // stop dropped the pin with the connection
    CHECK_EQ(server->connections(), 0u);
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("a holder that stops answering: timeout, not a hang") {
  auto fds = open_fds();
  {
    silent_peer peer{true};
    transfer_client_config cfg;
    cfg.io_timeout = 300ms;
    transfer_client client{cfg};
    auto o = pending_pull{client, peer.port, oid(6)}.await();
    REQUIRE(o.finished);
    CHECK_EQ(code(o), errc::timeout);
    CHECK(o.took >= 300ms);
    CHECK(o.took < 3s);
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("no one listening: peer_unreachable") {
  silent_peer peer{false};
  transfer_client client;
  auto o = pending_pull{client, peer.port, oid(7)}.await();
  REQUIRE(o.finished);
  CHECK_EQ(code(o), errc::peer_unreachable);
  auto bad = pending_pull{client, 1, oid(7)};
  CHECK_EQ(code(bad.await()), errc::peer_unreachable);
}

TEST_CASE("stop fails what is pending with shutting_down, and later pulls") {
  auto fds = open_fds();
  {
    silent_peer peer{true};
    transfer_client_config cfg;
    cfg.max_active_pulls = 1;  // one waits behind the other
    transfer_client client{cfg};
    pending_pull first{client, peer.port, oid(8)};
    pending_pull second{client, peer.port, oid(9)};
    std::this_thread::sleep_for(50ms);
    client.stop();
    CHECK_EQ(code(first.await()), errc::shutting_down);
    CHECK_EQ(code(second.await()), errc::shutting_down);
    CHECK_EQ(code(pending_pull{client, peer.port, oid(10)}.await()),
             errc::shutting_down);
    CHECK_EQ(client.pending(), 0u);
  }
  CHECK_EQ(open_fds(), fds);
}

namespace {

/// A plain client socket connected to 127.0.0.1:`port`.
int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0);
  timeval tv{5, 0};  // a recv in a test never blocks for long
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

} // namespace

TEST_CASE("a client that stops reading or sending is dropped with its pin") {
  auto fds = open_fds();
  {
    auto bytes = std::make_shared<std::vector<char>>(pattern(32u << 20, 11));
    std::weak_ptr<std::vector<char>> pin = bytes;
    auto cfg = local_server();
    cfg.io_timeout = 200ms;
    cfg.idle_timeout = 300ms;
    transfer_server server{cfg, [&bytes](const object_id&) {
                             return std::optional{transfer_source{
                               bytes->data(), bytes->size(), bytes}};
                           }};
    REQUIRE_FALSE(server.start());
    // Asks for 32 MiB and reads none of it.
    int reader = connect_loopback(server.port());
    char frame[transfer_wire::request_size];
    transfer_wire::encode(transfer_wire::request{oid(11), 0, 32u << 20},
                          frame);
    REQUIRE(::send(reader, frame, sizeof(frame), 0) == sizeof(frame));
    // Sends half a request and goes quiet.
    int half = connect_loopback(server.port());
    REQUIRE(::send(half, frame, 10, 0) == 10);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    // Until both are open and the reader's request took the pin.
    while ((server.connections() < 2 || bytes.use_count() < 2)
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    REQUIRE(bytes.use_count() >= 2);
    bytes.reset();  // the server's connection holds the only pin
    CHECK_FALSE(pin.expired());
    auto start = std::chrono::steady_clock::now();
    while (server.connections() > 0 && std::chrono::steady_clock::now()
                                         < deadline)
      std::this_thread::sleep_for(5ms);
    CHECK_EQ(server.connections(), 0u);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK(pin.expired());
    char c;
    CHECK(::recv(half, &c, 1, 0) == 0);  // closed by the server
    ::close(reader);
    ::close(half);
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("a reused connection the holder closed: the pull retries once") {
  auto fds = open_fds();
  {
    silent_peer holder{true};  // this test answers for it
    std::thread fake{[&] {
      using namespace transfer_wire;
      auto answer = [](int fd) {
        char frame[request_size];
        CHECK(::recv(fd, frame, sizeof(frame), MSG_WAITALL)
              == sizeof(frame));
        char out[reply_size + 10];
        encode(reply{status::ok, 10, 0, 10}, out);
        std::memset(out + reply_size, 'x', 10);
        CHECK(::send(fd, out, sizeof(out), 0) == sizeof(out));
      };
      int first = ::accept(holder.fd, nullptr, nullptr);
      answer(first);
      // The next pull's request arrives on the kept connection: close it
      // unanswered, then serve the pull's fresh connection.
      char frame[request_size];
      ::recv(first, frame, sizeof(frame), MSG_WAITALL);
      ::close(first);
      int second = ::accept(holder.fd, nullptr, nullptr);
      answer(second);
      ::recv(second, frame, 1, 0);  // until the client closes
      ::close(second);
    }};
    {
      transfer_client client;
      for (int i = 0; i < 2; ++i) {
        auto o = pending_pull{client, holder.port, oid(14)}.await();
        REQUIRE(o.result);
        CHECK_EQ(std::string(o.bytes->begin(), o.bytes->end()),
                 "xxxxxxxxxx");
      }
    }
    fake.join();
  }
  CHECK_EQ(open_fds(), fds);
}

TEST_CASE("a server closes a connection that speaks something else") {
  shelf objects;
  transfer_server server{local_server(), objects.resolver()};
  REQUIRE_FALSE(server.start());
  int fd = connect_loopback(server.port());
  char junk[transfer_wire::request_size] = "GET / HTTP/1.0\r\n\r\n";
  REQUIRE(::send(fd, junk, sizeof(junk), 0) == sizeof(junk));
  char c;
  CHECK(::recv(fd, &c, 1, 0) <= 0);  // closed, no reply
  ::close(fd);
}

TEST_CASE("a second start and a port in use are errors") {
  shelf objects;
  transfer_server first{local_server(), objects.resolver()};
  REQUIRE_FALSE(first.start());
  CHECK(first.start());
  auto cfg = local_server();
  cfg.port = first.port();
  transfer_server second{cfg, objects.resolver()};
  auto err = second.start();
  CHECK_EQ(code_of(err), errc::runtime_error);
  cfg.host = "not an address";
  transfer_server third{cfg, objects.resolver()};
  CHECK_EQ(code_of(third.start()), errc::invalid_config);
}

} // TEST_SUITE
