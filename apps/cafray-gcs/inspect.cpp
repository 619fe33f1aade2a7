// status, verify and probe: what the integration test asks the shard.

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "common/remote.hpp"
#include "gcs/chain.hpp"
#include "gcs/chain_codec.hpp"
#include "gcs/gcs_chain_client.hpp"
#include "roles.hpp"

namespace cafray::gcs_tool {

namespace {

constexpr auto patience = std::chrono::seconds{5};

const char* refusal_name(uint8_t reason) {
  static constexpr const char* names[] = {
    "not_head", "not_tail", "stale_request", "stale_replica", "not_ready",
    "no_lease", "retired",  "full",          "invalid",
  };
  return reason < std::size(names) ? names[reason] : "unknown";
}

caf::expected<gcs_coordinator_actor> connect(caf::actor_system& sys,
                                             arguments& args) {
  auto where = args.endpoint("coordinator");
  if (!where)
    return caf::sec::invalid_argument;
  return remote_actor<gcs_coordinator_actor>(sys, where->first,
                                             where->second);
}

/// What the reader found; the main thread looks at it once `finished`
/// reached the number of keys.
struct read_back {
  std::map<std::string, wire::chain_read_result> values;
  std::map<std::string, std::pair<int64_t, int64_t>> times;
  size_t failed = 0;
  std::atomic<size_t> finished{0};
};

/// Reads `keys` through `client`, 64 at a time.
void read_keys(caf::actor_system& sys, gcs_chain_client_actor client,
               std::vector<std::string> keys, std::shared_ptr<read_back> out) {
  auto reader = sys.spawn([=](caf::event_based_actor* self) {
    auto next = std::make_shared<size_t>(0);
    auto step = std::make_shared<std::function<void()>>();
    *step = [=] {
      if (*next == keys.size())
        return;
      auto key = keys[(*next)++];
      auto invoke = monotonic_ns();
      self->request(client, patience * 6, get_atom_v, uint8_t{0}, key)
        .then(
          [=](wire::chain_read_result& x) {
            out->values[key] = std::move(x);
            out->times[key] = {invoke, monotonic_ns()};
            ++out->finished;
            (*step)();
          },
          [=](caf::error&) {
            ++out->failed;
            ++out->finished;
            (*step)();
          });
    };
    for (int i = 0; i < 64; ++i)
      (*step)();
    return caf::behavior{[](int) {}};
  });
  // The reader has nothing left to do once every answer arrived.
  while (out->finished < keys.size())
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
}

} // namespace

int run_status(caf::actor_system& sys, arguments& args) {
  auto coordinator = connect(sys, args);
  if (!coordinator) {
    std::fprintf(stderr, "cafray-gcs status: no coordinator\n");
    return 1;
  }
  caf::scoped_actor self{sys};
  wire::chain_configuration config;
  bool ok = false;
  self->request(*coordinator, patience, get_atom_v)
    .receive([&](wire::chain_configuration& x) { config = x, ok = true; },
             [&](caf::error&) {});
  if (!ok)
    return 1;
  std::printf("epoch %llu chain", static_cast<unsigned long long>(config.epoch));
  for (auto& member : config.members)
    std::printf(" %llu", static_cast<unsigned long long>(member.replica));
  std::printf("\n");
  for (auto& member : config.members) {
    self->request(member.handle, patience, stats_atom_v)
      .receive(
        [&](wire::chain_replica_status& x) {
          std::printf("replica %llu last_applied %llu digest %016llx tail %d "
                      "serving %d\n",
                      static_cast<unsigned long long>(x.replica),
                      static_cast<unsigned long long>(x.last_applied),
                      static_cast<unsigned long long>(x.digest), x.tail ? 1 : 0,
                      x.serving_reads ? 1 : 0);
        },
        [&](caf::error&) {
          std::printf("replica %llu unreachable\n",
                      static_cast<unsigned long long>(member.replica));
        });
  }
  return 0;
}

int run_verify(caf::actor_system& sys, arguments& args) {
  auto unique = args.number("unique-keys", 0) != 0;
  auto coordinator = connect(sys, args);
  if (!coordinator || !args.error().empty()) {
    std::fprintf(stderr, "cafray-gcs verify: no coordinator\n");
    return 1;
  }
  // Every key of the histories; with --unique-keys, each acknowledged write.
  std::set<std::string> keys;
  std::map<std::string, std::string> acked;
  std::stringstream files{args.text("history")};
  for (std::string path; std::getline(files, path, ',');) {
    std::ifstream in{path};
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string client, key, kind, value, invoke, complete;
      if (!(fields >> client >> key >> kind >> value >> invoke >> complete))
        continue;
      keys.insert(key);
      if (kind == "write" && complete != "?" && complete != "fail")
        acked[key] = value;
    }
  }
  auto client = sys.spawn(gcs_chain_client, *coordinator,
                          gcs_chain_client_options{});
  auto out = std::make_shared<read_back>();
  read_keys(sys, client, {keys.begin(), keys.end()}, out);
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  if (auto path = args.text("out"); !path.empty()) {
    std::ofstream file{path};
    for (auto& [key, x] : out->values)
      file << "0 " << key << " read " << (x.found ? x.value : "-") << ' '
           << out->times[key].first << ' ' << out->times[key].second << '\n';
  }
  size_t present = 0;
  for (auto& [key, value] : acked) {
    auto i = out->values.find(key);
    if (i != out->values.end() && i->second.found && i->second.value == value)
      ++present;
  }
  std::printf("verify: %zu keys read, %zu failed", out->values.size(),
              out->failed);
  if (unique)
    std::printf(", acknowledged writes present: %zu of %zu", present,
                acked.size());
  std::printf("\n");
  return out->failed == 0 && (!unique || present == acked.size()) ? 0 : 1;
}

int run_probe(caf::actor_system& sys, arguments& args) {
  auto where = args.endpoint("replica");
  if (!where) {
    std::fprintf(stderr, "cafray-gcs probe: %s\n", args.error().c_str());
    return 2;
  }
  auto replica = remote_actor<gcs_replica_actor>(
    sys, where->first, where->second);
  if (!replica) {
    std::printf("probe: unreachable\n");
    return 1;
  }
  caf::scoped_actor self{sys};
  wire::chain_replica_status status;
  self->request(*replica, patience, stats_atom_v)
    .receive([&](wire::chain_replica_status& x) { status = x; },
             [&](caf::error&) {});
  std::printf("probe: replica %llu epoch %llu member %d retired %d serving %d\n",
              static_cast<unsigned long long>(status.replica),
              static_cast<unsigned long long>(status.epoch),
              status.member ? 1 : 0, status.retired ? 1 : 0,
              status.serving_reads ? 1 : 0);
  // Asks as a client of the replica's own epoch would.
  auto answer = [&](const char* what) {
    self->receive(
      [&](wire::chain_answers& x) {
        if (!x.refusals.empty())
          std::printf("%s: refused %s\n", what,
                      refusal_name(x.refusals.front().reason));
        else if (!x.acks.empty() || !x.reads.empty())
          std::printf("%s: answered\n", what);
      },
      caf::after(std::chrono::seconds{2}) >>
        [&] { std::printf("%s: no answer\n", what); });
  };
  self->send(*replica, wire::chain_read_request{status.epoch, 1, 1, 0,
                                                "probe"});
  answer("read");
  request_block write;
  std::string value = "x";
  write.add(2, 2, 0, "probe", &value);
  self->send(*replica,
             wire::chain_write_batch{status.epoch, 1, write.finish()});
  answer("write");
  return 0;
}

} // namespace cafray::gcs_tool
