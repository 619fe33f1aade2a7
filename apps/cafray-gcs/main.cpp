// cafray-gcs: one shard's chain-replicated GCS as separate processes on
// CAF's middleman (coordinator, replicas), and the tools that drive and
// inspect it (load, status, verify, probe). Usage: cafray-gcs ROLE
// --key=value...; see `usage` below.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "proto/register_types.hpp"
#include "roles.hpp"

namespace {

constexpr const char* usage =
  "usage: cafray-gcs ROLE --key=value...\n"
  "  coordinator --port=P --replicas=1,2,3 [--state-file=F] [--lease-ms=300]\n"
  "              [--grace-ms=20] [--check-ms=25] [--shard=0]\n"
  "  replica     --id=N --dir=D --coordinator=HOST:PORT [--port=0]\n"
  "              [--heartbeat-ms=50] [--max-map-mb=1024] [--sync=0]\n"
  "              [--batch-writes=64]\n"
  "              [--ack-every=256] [--io-thread=1] [--max-throughput=1]\n"
  "  load        --coordinator=HOST:PORT --history=F [--writers=1]\n"
  "              [--client=1] [--ops=1000] [--keys=1000] [--seed=1]\n"
  "              [--unique-keys=0] [--stop-file=F]\n"
  "  status      --coordinator=HOST:PORT\n"
  "  verify      --coordinator=HOST:PORT --history=F[,F...] [--out=F]\n"
  "              [--unique-keys=0]\n"
  "  probe       --replica=HOST:PORT\n"
  "A published role prints 'listening on PORT' once it accepts connections.\n";

struct role {
  const char* name;
  std::vector<std::string> keys;
  int (*run)(caf::actor_system&, cafray::gcs_tool::arguments&);
};

const std::vector<role>& roles() {
  using namespace cafray::gcs_tool;
  static const std::vector<role> result{
    {"coordinator",
     {"port", "replicas", "state-file", "lease-ms", "grace-ms", "check-ms",
      "shard"},
     run_coordinator},
    {"replica",
     {"id", "dir", "coordinator", "port", "heartbeat-ms", "max-map-mb",
      "sync", "batch-writes", "ack-every", "io-thread", "max-throughput"},
     run_replica},
    {"load",
     {"coordinator", "history", "writers", "client", "ops", "keys", "seed",
      "unique-keys", "stop-file"},
     run_load},
    {"status", {"coordinator"}, run_status},
    {"verify", {"coordinator", "history", "out", "unique-keys"}, run_verify},
    {"probe", {"replica"}, run_probe},
  };
  return result;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (auto& x : roles()) {
    if (x.name != std::string{argv[1]})
      continue;
    cafray::gcs_tool::arguments args{argc, argv, 2, x.keys};
    if (!args.error().empty()) {
      std::fprintf(stderr, "cafray-gcs %s: %s\n", x.name,
                   args.error().c_str());
      return 2;
    }
    caf::actor_system_config cfg;
    cafray::register_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    // Idle workers of the default work-stealing scheduler sleep 10 ms between
    // polls, which every hop of the chain would pay; the sharing scheduler
    // wakes a worker when a message arrives (CAF-NOTES: 3x faster round trips).
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("middleman.workers", size_t{0});
    // A replica runs in the I/O thread (gcs_replica_options::in_io_thread)
    // and gets one message per turn: what it forwards or acknowledges leaves
    // the process before it takes the next message, instead of after every
    // message waiting in its mailbox. Its successor starts on a batch while
    // it applies the next one (gcs-chain-bench R=3: about a tenth more
    // writes per second and less CPU per write).
    if (std::strcmp(x.name, "replica") == 0)
      cfg.set("scheduler.max-throughput",
              size_t{std::max<uint64_t>(args.number("max-throughput", 1), 1)});
    // Replicas and clients connect to the endpoints a chain configuration
    // names (gcs/chain_connect.hpp). CAF's automatic connections stay off:
    // they listen on every interface, and under load they once left a load
    // process with a TCP connection to the head but no route to it, its
    // writes vanishing until they timed out ("a writer saw a failure").
    cfg.set("middleman.enable-automatic-connections", false);
    // The system lives on the heap and is never destroyed: the tools (load,
    // status, verify, probe) have written and flushed everything when their
    // role returns, and CAF 0.17's shutdown can hang on a connection to a
    // replica that was killed meanwhile (CAF-NOTES pitfall 7): seen as a
    // `status` stuck in ~actor_system for minutes under CPU load.
    auto* sys = new caf::actor_system{cfg};
    auto rc = x.run(*sys, args);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(rc);
  }
  std::fprintf(stderr, "cafray-gcs: unknown role '%s'\n%s", argv[1], usage);
  return 2;
}
