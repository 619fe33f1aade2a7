// The long-running roles: the coordinator and a replica, each published on
// a port of 127.0.0.1 so that the others connect to it directly.

#include <chrono>
#include <cstdio>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>

#include "common/remote.hpp"
#include "common/error.hpp"
#include "gcs/gcs_coordinator.hpp"
#include "gcs/gcs_replica.hpp"
#include "roles.hpp"

namespace cafray::gcs_tool {

namespace {

/// Publishes `handle` on `port` (0: any) and says where.
template <class Handle>
bool publish(caf::actor_system& sys, const Handle& handle, uint16_t port,
             const std::string& what) {
  auto bound = sys.middleman().publish(handle, port, "127.0.0.1", true);
  if (!bound) {
    std::fprintf(stderr, "cafray-gcs %s: cannot publish: %s\n", what.c_str(),
                 sys.render(bound.error()).c_str());
    return false;
  }
  std::printf("%s listening on %u\n", what.c_str(), unsigned{*bound});
  std::fflush(stdout);
  return true;
}

/// A free TCP port of 127.0.0.1, so that a replica knows the port it will be
/// published on before it announces itself; 0 if none.
uint16_t free_port() {
  auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

} // namespace

int run_coordinator(caf::actor_system& sys, arguments& args) {
  gcs_coordinator_options options;
  options.shard = static_cast<uint32_t>(args.number("shard", 0));
  options.replicas = args.numbers("replicas");
  options.state_file = args.text("state-file");
  options.lease = std::chrono::milliseconds{args.number("lease-ms", 300)};
  options.grace = std::chrono::milliseconds{args.number("grace-ms", 20)};
  options.check_interval
    = std::chrono::milliseconds{args.number("check-ms", 25)};
  auto port = args.number("port", 0);
  if (!args.error().empty() || options.replicas.empty() || port > 65535) {
    std::fprintf(stderr, "cafray-gcs coordinator: %s\n",
                 args.error().empty() ? "needs --replicas and a valid --port"
                                      : args.error().c_str());
    return 2;
  }
  auto coordinator = sys.spawn(gcs_coordinator, options);
  if (!publish(sys, coordinator, static_cast<uint16_t>(port), "coordinator"))
    return 1;
  wait_for_signal();
  return 0;
}

int run_replica(caf::actor_system& sys, arguments& args) {
  auto id = args.number("id", 0);
  auto dir = args.text("dir");
  auto where = args.endpoint("coordinator");
  auto port = args.number("port", 0);
  gcs_replica_options options;
  options.heartbeat_interval
    = std::chrono::milliseconds{args.number("heartbeat-ms", 50)};
  options.ack_every = args.number("ack-every", options.ack_every);
  lmdb_options storage;
  storage.max_map_size = size_t{args.number("max-map-mb", 1024)} << 20;
  storage.map_size = std::min(storage.map_size, storage.max_map_size);
  storage.sync = args.number("sync", 0) != 0;
  options.detached = storage.sync;
  // The replica is this process's work: it runs where its messages arrive.
  options.in_io_thread = args.number("io-thread", 1) != 0;
  // Parts of at most 64 writes: with one message per turn (--max-throughput)
  // the successor starts on one part while this replica applies the next,
  // and a closed loop of clients keeps two groups of writes travelling the
  // chain instead of one (gcs-chain-bench R=3, 16 x 8 in flight, 3 rounds
  // of 3 alternating runs: medians 113/100/103k writes/s against 100/92/112k
  // with parts of 256, and a lower p99).
  options.max_batch_writes = args.number("batch-writes", 64);
  if (!args.error().empty() || id == 0 || dir.empty() || !where
      || port > 65535 || options.max_batch_writes == 0
      || options.ack_every == 0 || args.number("max-throughput", 1) == 0) {
    std::fprintf(stderr, "cafray-gcs replica: %s\n",
                 args.error().empty()
                   ? "needs --id (not 0), --dir and --coordinator; "
                     "--batch-writes, --ack-every and --max-throughput "
                     "are at least 1"
                   : args.error().c_str());
    return 2;
  }
  // The coordinator may still be starting: try for a few seconds.
  caf::expected<gcs_coordinator_actor> coordinator{caf::sec::invalid_argument};
  for (int attempt = 0; attempt < 50; ++attempt) {
    coordinator = remote_actor<gcs_coordinator_actor>(
      sys, where->first, where->second);
    if (coordinator)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  if (!coordinator) {
    std::fprintf(stderr, "cafray-gcs replica: no coordinator at %s:%u: %s\n",
                 where->first.c_str(), unsigned{where->second},
                 sys.render(coordinator.error()).c_str());
    return 1;
  }
  // Clients and other replicas connect to this port themselves.
  if (port == 0)
    port = free_port();
  options.host = "127.0.0.1";
  options.port = static_cast<uint16_t>(port);
  auto replica = spawn_gcs_replica(sys, id, dir, storage, *coordinator,
                                   options);
  if (!replica) {
    std::fprintf(stderr, "cafray-gcs replica: %s\n",
                 render(replica.error()).c_str());
    return 1;
  }
  if (!publish(sys, *replica, static_cast<uint16_t>(port),
               "replica " + std::to_string(id)))
    return 1;
  wait_for_signal();
  return 0;
}

} // namespace cafray::gcs_tool
