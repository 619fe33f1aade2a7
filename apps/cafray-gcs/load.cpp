// load: writers that keep chain clients busy, one operation at a time
// each, and write what happened as a history for tests/linearizability
// (one line per operation: client key kind value invoke complete).

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <unistd.h>

#include "common/remote.hpp"
#include "gcs/gcs_chain_client.hpp"
#include "roles.hpp"

namespace cafray::gcs_tool {

namespace {

struct load_plan {
  uint64_t client = 0;
  uint64_t ops = 0;
  uint64_t keys = 0;
  bool unique_keys = false;
  std::string stop_file;
};

/// Lines of the history, and counters, shared by the writers.
struct load_log {
  std::mutex mtx;
  std::vector<std::string> lines;
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};

  void add(uint64_t client, const std::string& key, const char* kind,
           const std::string& value, int64_t invoke, const std::string& end) {
    auto line = std::to_string(client) + ' ' + key + ' ' + kind + ' ' + value
                + ' ' + std::to_string(invoke) + ' ' + end;
    std::lock_guard<std::mutex> guard{mtx};
    lines.push_back(std::move(line));
  }
};

struct writer_state {
  gcs_chain_client_actor client;
  load_plan plan;
  std::shared_ptr<load_log> log;
  std::mt19937_64 rng;
  uint64_t done = 0;
};

/// A failed operation goes to stderr with its error and how long it took:
/// the test keeps the writers' stderr.
void report_failure(caf::event_based_actor* self, uint64_t client,
                    const char* kind, const std::string& key, int64_t invoke,
                    const caf::error& err) {
  auto ms = (monotonic_ns() - invoke) / 1000000;
  std::fprintf(stderr, "load: client %llu: %s of %s failed after %lld ms: %s\n",
               static_cast<unsigned long long>(client), kind, key.c_str(),
               static_cast<long long>(ms), self->system().render(err).c_str());
}

bool stopped(const writer_state& st) {
  return !st.plan.stop_file.empty()
         && access(st.plan.stop_file.c_str(), F_OK) == 0;
}

void next(caf::event_based_actor* self, std::shared_ptr<writer_state> st) {
  if (st->done == st->plan.ops || stopped(*st)) {
    self->quit();
    return;
  }
  auto index = st->done++;
  auto id = std::to_string(st->plan.client);
  auto write = st->plan.unique_keys || st->rng() % 4 != 0;
  auto key = st->plan.unique_keys
               ? "w" + id + "-" + std::to_string(index)
               : "key-" + std::to_string(st->rng() % st->plan.keys);
  auto invoke = monotonic_ns();
  // The client retries for 10 s itself; past that the outcome is unknown.
  auto patience = std::chrono::seconds{30};
  auto client = st->plan.client;
  if (write) {
    auto value = "c" + id + "-" + std::to_string(index);
    self->request(st->client, patience, put_atom_v, uint8_t{0}, key, value)
      .then(
        [=](uint64_t) {
          st->log->add(client, key, "write", value, invoke,
                       std::to_string(monotonic_ns()));
          ++st->log->acked;
          next(self, st);
        },
        [=](caf::error& err) {
          report_failure(self, client, "write", key, invoke, err);
          st->log->add(client, key, "write", value, invoke, "?");
          ++st->log->failed;
          next(self, st);
        });
  } else {
    self->request(st->client, patience, get_atom_v, uint8_t{0}, key)
      .then(
        [=](wire::chain_read_result& x) {
          st->log->add(client, key, "read", x.found ? x.value : "-", invoke,
                       std::to_string(monotonic_ns()));
          next(self, st);
        },
        [=](caf::error& err) {
          report_failure(self, client, "read", key, invoke, err);
          ++st->log->failed;
          next(self, st);
        });
  }
}

} // namespace

int run_load(caf::actor_system& sys, arguments& args) {
  auto where = args.endpoint("coordinator");
  auto history = args.text("history");
  auto writers = args.number("writers", 1);
  load_plan plan;
  auto first_client = args.number("client", 1);
  plan.ops = args.number("ops", 1000);
  plan.keys = args.number("keys", 1000);
  plan.unique_keys = args.number("unique-keys", 0) != 0;
  plan.stop_file = args.text("stop-file");
  auto seed = args.number("seed", 1);
  if (!args.error().empty() || !where || history.empty() || plan.keys == 0) {
    std::fprintf(stderr, "cafray-gcs load: %s\n",
                 args.error().empty() ? "needs --coordinator and --history"
                                      : args.error().c_str());
    return 2;
  }
  auto coordinator = remote_actor<gcs_coordinator_actor>(
    sys, where->first, where->second);
  if (!coordinator) {
    std::fprintf(stderr, "cafray-gcs load: no coordinator: %s\n",
                 sys.render(coordinator.error()).c_str());
    return 1;
  }
  auto log = std::make_shared<load_log>();
  std::vector<caf::actor> all;
  std::vector<caf::actor> clients;
  for (uint64_t i = 0; i < writers; ++i) {
    auto st = std::make_shared<writer_state>();
    st->client = sys.spawn(gcs_chain_client, *coordinator,
                           gcs_chain_client_options{});
    clients.push_back(caf::actor_cast<caf::actor>(st->client));
    st->plan = plan;
    st->plan.client = first_client + i;
    st->log = log;
    st->rng.seed(seed * 1000003 + i);
    all.push_back(sys.spawn([st](caf::event_based_actor* self) {
      next(self, st);
      return caf::behavior{[](int) {}};
    }));
  }
  caf::scoped_actor self{sys};
  self->wait_for(all);
  for (auto& client : clients)
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  std::ofstream out{history};
  for (auto& line : log->lines)
    out << line << '\n';
  out.close();
  std::printf("load: %zu ops, %llu writes acknowledged, %llu failed\n",
              log->lines.size(),
              static_cast<unsigned long long>(log->acked.load()),
              static_cast<unsigned long long>(log->failed.load()));
  return out && log->failed == 0 ? 0 : 1;
}

} // namespace cafray::gcs_tool
