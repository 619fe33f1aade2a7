// gcs-chain-bench: one chain-replicated GCS shard as real processes on
// 127.0.0.1 (a cafray-gcs coordinator and R cafray-gcs replicas), driven by
// chain clients in this process.
//   1. For R = 1, 2, 3: acknowledged writes per second and the latency
//      (p50, p99) of a write, from the put to its acknowledgement by the
//      tail, with --clients clients keeping --inflight writes each.
//   2. For a chain of 3: kill -9 the head, the middle and the tail (each in
//      a fresh chain) under load; the stall is the longest time no client
//      saw any write acknowledged, from the kill on.
// Figures only, never pass/fail; the exit code is 1 only when a write
// failed or the processes did not start. See bench/README.md.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include "common/remote.hpp"
#include "chain_processes.hpp"
#include "gcs/gcs_chain_client.hpp"
#include "gcs/gcs_chain_endpoint.hpp"
#include "proto/register_types.hpp"

#ifndef CAFRAY_GCS_EXE
#define CAFRAY_GCS_EXE "cafray-gcs"
#endif

namespace {

using namespace cafray;
using clock_type = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

struct options {
  std::string gcs = CAFRAY_GCS_EXE;
  size_t clients = 16;
  size_t inflight = 8;
  double seconds = 3;
  double warmup = 1;
  std::vector<size_t> replicas{1, 2, 3};
  size_t value_bytes = 64;
  /// Whether the clients share one endpoint to the chain, as the clients
  /// of one process do (gcs/gcs_chain_endpoint.hpp), or each sends to the
  /// head and hears from the tail on its own.
  bool endpoint = true;
  bool stall = true;
  /// The lease and heartbeat of the stall runs: the tail's replacement
  /// waits for its lease, so the tail's stall is about the lease.
  uint64_t stall_lease_ms = 20;
  uint64_t stall_heartbeat_ms = 4;
  size_t stall_inflight = 2;
  /// Passed to the replicas when set: most writes per transaction and
  /// forward, and how often the tail acknowledges up (cafray-gcs replica
  /// --batch-writes, --ack-every).
  size_t batch_writes = 0;
  size_t ack_every = 0;
  /// Scheduler threads of this process, whose actors are the clients and
  /// their writers: on 2 cores next to 4 server processes, one thread hands
  /// no message to another thread of its own (about a quarter less CPU per
  /// write on the clients than with two, and a rate as high or higher).
  size_t client_threads = 1;
  /// Where to write every measured write's completion time and latency
  /// (nanoseconds, one pair per line), if anywhere.
  std::string latencies;
  /// Whether this process runs on CPU 0 and replica j on CPU j modulo the
  /// CPUs, so that neighbours in the chain run on different cores as on
  /// different machines. Unpinned, the kernel moves the processes between
  /// the cores, and a process woken by a message waits for a core more
  /// often (bench/README.md).
  bool pin = false;
};

// -- processes: bench/chain_processes.hpp ------------------------------------

using bench::shard_processes;

// -- load --------------------------------------------------------------------

/// What the writers saw: per write its completion time and latency, kept
/// while `recording`.
struct observations {
  std::atomic<bool> recording{false};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> failed{0};
  std::atomic<size_t> running{0};
  std::mutex mtx;
  std::vector<std::pair<int64_t, int64_t>> done; // completion, latency
};

struct writer_state {
  gcs_chain_client_actor client;
  std::shared_ptr<observations> obs;
  std::string prefix;
  std::string value;
  uint64_t next = 0;
  size_t outstanding = 0;
  std::vector<std::pair<int64_t, int64_t>> done;
};

void issue(caf::event_based_actor* self, std::shared_ptr<writer_state> st);

void finish(caf::event_based_actor* self, std::shared_ptr<writer_state> st) {
  if (--st->outstanding > 0)
    return;
  {
    std::lock_guard<std::mutex> guard{st->obs->mtx};
    st->obs->done.insert(st->obs->done.end(), st->done.begin(),
                         st->done.end());
  }
  --st->obs->running;
  self->quit();
}

void issue(caf::event_based_actor* self, std::shared_ptr<writer_state> st) {
  auto start = now_ns();
  auto key = st->prefix + std::to_string(st->next++ % 4096);
  // No CAF timeout per write: the chain client fails a write itself after
  // its request_timeout (10 s), and a CAF timeout costs the clock thread a
  // wake-up and a map insert and erase per write (a fifth of this process's
  // CPU in a profile).
  self
    ->request(st->client, caf::infinite, put_atom_v, uint8_t{0},
              std::move(key), st->value)
    .then(
      [self, st, start](uint64_t) {
        auto end = now_ns();
        if (st->obs->recording)
          st->done.emplace_back(end, end - start);
        if (st->obs->stopping)
          finish(self, st);
        else
          issue(self, st);
      },
      [self, st](caf::error& err) {
        std::fprintf(stderr, "gcs-chain-bench: a write failed: %s\n",
                     to_string(err).c_str());
        ++st->obs->failed;
        if (st->obs->stopping)
          finish(self, st);
        else
          issue(self, st);
      });
}

/// Clients and their writers in this process, against the shard whose
/// coordinator listens on `port`.
class load {
public:
  load(caf::actor_system& sys, uint16_t port, size_t clients, size_t inflight,
       size_t value_bytes, bool shared_endpoint)
    : sys_(sys), obs_(std::make_shared<observations>()) {
    auto coordinator = remote_actor<gcs_coordinator_actor>(
      sys, "127.0.0.1", port);
    if (!coordinator) {
      std::fprintf(stderr, "gcs-chain-bench: no coordinator: %s\n",
                   sys.render(coordinator.error()).c_str());
      return;
    }
    obs_->running = clients;
    gcs_chain_client_options client_options;
    if (shared_endpoint)
      client_options.endpoint = sys.spawn(gcs_chain_endpoint);
    for (size_t c = 0; c < clients; ++c) {
      auto client = sys.spawn(gcs_chain_client, *coordinator, client_options);
      clients_.push_back(client);
      auto st = std::make_shared<writer_state>();
      st->client = client;
      st->obs = obs_;
      st->prefix = "bench-" + std::to_string(c) + "-";
      st->value.assign(value_bytes, 'v');
      st->outstanding = inflight;
      sys.spawn([st, inflight](caf::event_based_actor* self) {
        for (size_t i = 0; i < inflight; ++i)
          issue(self, st);
        return caf::behavior{[](int) {}};
      });
    }
    ok_ = true;
  }

  bool ok() const {
    return ok_;
  }

  observations& obs() {
    return *obs_;
  }

  /// Stops the writers, waits for their last writes; every observation.
  std::vector<std::pair<int64_t, int64_t>> stop() {
    obs_->recording = false;
    obs_->stopping = true;
    auto deadline = clock_type::now() + std::chrono::seconds{40};
    while (obs_->running > 0 && clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    for (auto& client : clients_)
      caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    std::lock_guard<std::mutex> guard{obs_->mtx};
    return std::move(obs_->done);
  }

private:
  caf::actor_system& sys_;
  std::shared_ptr<observations> obs_;
  std::vector<gcs_chain_client_actor> clients_;
  bool ok_ = false;
};

/// The machine's load averages (1, 5, 15 min) as /proc/loadavg has them:
/// printed with every figure, which the load moves (see bench/README.md).
std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen))
    return "?";
  return one + " " + five + " " + fifteen;
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>{s});
}

double percentile(std::vector<int64_t>& xs, double p) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + k, xs.end());
  return static_cast<double>(xs[k]) / 1e6;
}

std::vector<std::string> replica_args(const options& opt) {
  std::vector<std::string> result;
  if (opt.batch_writes > 0)
    result.push_back("--batch-writes=" + std::to_string(opt.batch_writes));
  if (opt.ack_every > 0)
    result.push_back("--ack-every=" + std::to_string(opt.ack_every));
  return result;
}

bool throughput_run(caf::actor_system& sys, const options& opt, size_t r) {
  shard_processes shard{opt.gcs, replica_args(opt), opt.pin};
  auto port = shard.start(r, 300, 50);
  if (port == 0)
    return false;
  load writers{sys, port, opt.clients, opt.inflight, opt.value_bytes,
               opt.endpoint};
  if (!writers.ok())
    return false;
  sleep_s(opt.warmup);
  auto cpu_before = shard.cpu_times();
  auto begin = now_ns();
  writers.obs().recording = true;
  sleep_s(opt.seconds);
  auto end = now_ns();
  auto cpu_after = shard.cpu_times();
  auto load = load_average();
  auto done = writers.stop();
  std::vector<int64_t> latencies;
  for (auto& [at, latency] : done)
    if (at <= end)
      latencies.push_back(latency);
  auto rate = static_cast<double>(latencies.size())
              / (static_cast<double>(end - begin) / 1e9);
  if (!opt.latencies.empty()) {
    // One file per run: the chain's length goes before the extension.
    std::ofstream out{opt.latencies + "." + std::to_string(r)};
    for (auto& [at, latency] : done)
      if (at >= begin && at <= end)
        out << (at - begin) << ' ' << latency << '\n';
  }
  auto p50 = percentile(latencies, 0.5);
  auto p99 = percentile(latencies, 0.99);
  auto max = percentile(latencies, 1.0);
  std::printf("R=%zu  %9.0f writes/s  p50 %6.3f ms  p99 %6.3f ms  max %7.3f "
              "ms  (%zu clients%s x %zu in flight%s, %zu acknowledged)%s\n",
              r, rate, p50, p99, max, opt.clients,
              opt.endpoint ? " on one endpoint" : "", opt.inflight,
              opt.pin ? ", pinned" : "", latencies.size(),
              r == 3 ? (rate >= 100000 && p99 <= 2.0
                          ? "  target >=100k/s, p99<=2ms: met"
                          : "  target >=100k/s, p99<=2ms: missed")
                     : "");
  // CPU per acknowledged write, by process (clock ticks: ~10 ms each, so
  // a few seconds make it exact to a few percent).
  if (!latencies.empty()) {
    auto n = static_cast<double>(latencies.size());
    double total = 0;
    std::string parts;
    for (size_t i = 0; i < cpu_after.size() && i < cpu_before.size(); ++i) {
      auto us = static_cast<double>(cpu_after[i].second
                                    - cpu_before[i].second)
                / 1e3 / n;
      total += us;
      char buf[64];
      std::snprintf(buf, sizeof(buf), "  %s %.2f", cpu_after[i].first.c_str(),
                    us);
      parts += buf;
    }
    std::printf("      CPU us per write: total %.2f %s  (load %s)\n", total,
                parts.c_str(), load.c_str());
  }
  std::fflush(stdout);
  return writers.obs().failed == 0;
}

bool stall_run(caf::actor_system& sys, const options& opt, uint64_t victim,
               const char* role) {
  shard_processes shard{opt.gcs, replica_args(opt), opt.pin};
  auto port = shard.start(3, opt.stall_lease_ms, opt.stall_heartbeat_ms);
  if (port == 0)
    return false;
  load writers{sys, port, opt.clients, opt.stall_inflight, opt.value_bytes,
               opt.endpoint};
  if (!writers.ok())
    return false;
  sleep_s(opt.warmup);
  writers.obs().recording = true;
  sleep_s(0.5);
  auto killed = now_ns();
  shard.kill_9(victim);
  sleep_s(1.5);
  auto end = now_ns();
  auto load = load_average();
  auto done = writers.stop();
  // The longest time without any acknowledgement, from the kill on.
  std::vector<int64_t> times;
  int64_t worst_latency = 0;
  for (auto& [at, latency] : done)
    if (at <= end) {
      times.push_back(at);
      if (at >= killed)
        worst_latency = std::max(worst_latency, latency);
    }
  std::sort(times.begin(), times.end());
  // `gap`: the longest in the 1.5 s after the kill. `failover`: the longest
  // that began within 100 ms of the kill, which the repair caused; a later
  // one comes from the machine (a loaded one starves a process now and
  // then) or from a later reconfiguration, which the log shows.
  int64_t gap = 0;
  int64_t gap_from = killed;
  int64_t failover = 0;
  auto prev = killed;
  auto note = [&](int64_t at) {
    if (at - prev > gap) {
      gap = at - prev;
      gap_from = prev;
    }
    if (prev < killed + 100'000'000)
      failover = std::max(failover, at - prev);
    prev = at;
  };
  for (auto at : times)
    if (at >= killed)
      note(at);
  note(end);
  // The coordinator's log says what it did about the kill: printed for a
  // missed target, as the first thing to read.
  if (gap > 30'000'000 || failover > 30'000'000)
    std::printf("coordinator log (kill at %" PRId64 " ms, stall from %" PRId64
                " ms):\n%s",
                killed / 1'000'000, gap_from / 1'000'000,
                shard.log_of(0).c_str());
  std::printf("kill -9 %-6s (replica %" PRIu64 ")  stall %7.2f ms  (any gap "
              "in 1.5 s: %7.2f ms)  longest write %7.2f ms  (lease %" PRIu64
              " ms, heartbeat %" PRIu64 " ms, load %s)  target stall<=30ms: "
              "%s\n",
              role, victim, static_cast<double>(failover) / 1e6,
              static_cast<double>(gap) / 1e6,
              static_cast<double>(worst_latency) / 1e6, opt.stall_lease_ms,
              opt.stall_heartbeat_ms, load.c_str(),
              failover <= 30'000'000 ? "met" : "missed");
  std::fflush(stdout);
  return writers.obs().failed == 0;
}

std::optional<options> parse(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    auto key = arg.substr(0, eq);
    auto value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto number = [&] { return std::stoull(value); };
    try {
      if (key == "--gcs")
        opt.gcs = value;
      else if (key == "--clients")
        opt.clients = number();
      else if (key == "--inflight")
        opt.inflight = number();
      else if (key == "--seconds")
        opt.seconds = std::stod(value);
      else if (key == "--warmup")
        opt.warmup = std::stod(value);
      else if (key == "--value-bytes")
        opt.value_bytes = number();
      else if (key == "--replicas") {
        opt.replicas.clear();
        std::stringstream list{value};
        for (std::string x; std::getline(list, x, ',');)
          opt.replicas.push_back(std::stoull(x));
      } else if (key == "--no-endpoint")
        opt.endpoint = false;
      else if (key == "--no-stall")
        opt.stall = false;
      else if (key == "--stall-only")
        opt.replicas.clear();
      else if (key == "--stall-lease-ms")
        opt.stall_lease_ms = number();
      else if (key == "--stall-heartbeat-ms")
        opt.stall_heartbeat_ms = number();
      else if (key == "--stall-inflight")
        opt.stall_inflight = number();
      else if (key == "--batch-writes")
        opt.batch_writes = number();
      else if (key == "--ack-every")
        opt.ack_every = number();
      else if (key == "--client-threads")
        opt.client_threads = number();
      else if (key == "--latencies" && !value.empty())
        opt.latencies = value;
      else if (key == "--pin")
        opt.pin = true;
      else
        throw std::invalid_argument{arg};
    } catch (const std::exception&) {
      std::fprintf(stderr, "gcs-chain-bench: bad argument '%s'\n", argv[i]);
      return std::nullopt;
    }
  }
  if (opt.clients == 0 || opt.inflight == 0 || opt.stall_inflight == 0
      || opt.client_threads == 0)
    return std::nullopt;
  return opt;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  if (!opt) {
    std::fprintf(stderr,
                 "usage: gcs-chain-bench [--gcs=PATH] [--clients=16] "
                 "[--inflight=8] [--seconds=3] [--warmup=1]\n"
                 "         [--replicas=1,2,3] [--value-bytes=64] [--no-endpoint]\n"
                 "         [--no-stall|--stall-only] [--stall-lease-ms=20]\n"
                 "         [--stall-heartbeat-ms=4] [--stall-inflight=2]\n"
                 "         [--batch-writes=N] [--ack-every=N] [--client-threads=1]\n"
                 "         [--latencies=FILE] [--pin]\n");
    return 2;
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", opt->client_threads);
  // Idle workers of the default work-stealing scheduler sleep 10 ms between
  // polls, which every hop of the chain would pay; the sharing scheduler
  // wakes a worker when a message arrives (CAF-NOTES: 3x faster round trips).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", size_t{0});
  // As in cafray-gcs: clients connect to the replicas' endpoints.
  cfg.set("middleman.enable-automatic-connections", false);
  auto* sys = new caf::actor_system{cfg};
  if (opt->pin && !bench::pin_threads("self", 0))
    std::fprintf(stderr, "gcs-chain-bench: cannot pin this process\n");
  bool ok = true;
  for (auto r : opt->replicas)
    ok = throughput_run(*sys, *opt, r) && ok;
  if (opt->stall) {
    ok = stall_run(*sys, *opt, 1, "head") && ok;
    ok = stall_run(*sys, *opt, 2, "middle") && ok;
    ok = stall_run(*sys, *opt, 3, "tail") && ok;
  }
  // As in cafray-gcs: the system is not torn down (CAF 0.17's shutdown can
  // hang on connections to killed processes).
  std::fflush(stdout);
  std::_Exit(ok ? 0 : 1);
}
