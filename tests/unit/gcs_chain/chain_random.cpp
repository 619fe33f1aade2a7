// Many rounds of writes, reads and deaths in a shuffled network, for many
// seeds: no acknowledged write is lost, no write is applied twice, every read
// sees every write acknowledged before it, and the live replicas end equal.

#include <doctest/doctest.h>

#include <map>
#include <random>

#include "chain_checks.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr size_t clients = 4;
constexpr chain_client_id first_client = 100;

struct read_check {
  chain_client_id client = 0;
  uint64_t request = 0;
  std::string key;
  /// Acknowledged before the read was sent.
  std::string must_see;
};

class random_run {
public:
  explicit random_run(uint64_t seed) : rng_(seed), net_(3, seed, 40ms) {
    // nop
  }

  void run(int rounds) {
    for (int round = 0; round < rounds; ++round) {
      act(round);
      auto deliveries = pick(60);
      for (size_t i = 0; i < deliveries && net_.deliver_one(); ++i)
        ;
      if (coin(0.04))
        kill_someone();
      tick();
    }
    drain();
    check();
  }

private:
  bool coin(double p) {
    return std::uniform_real_distribution<double>{0, 1}(rng_) < p;
  }

  size_t pick(size_t bound) {
    return std::uniform_int_distribution<size_t>{0, bound - 1}(rng_);
  }

  void act(int round) {
    for (size_t i = 0; i < clients; ++i) {
      auto client = first_client + i;
      if (coin(0.5)) {
        auto n = std::to_string(++keys_);
        auto request = net_.write(client, "k" + n, "v" + n);
        keys_of_[{client, request}] = "k" + n;
      }
      if (coin(0.3) && !acked_.empty()) {
        auto i = acked_.begin();
        std::advance(i, pick(acked_.size()));
        auto request = net_.read(client, i->first);
        reads_.push_back({client, request, i->first, i->second});
      }
      if (round % 10 == 0)
        retry(client);
    }
  }

  void retry(chain_client_id client) {
    for (auto& [request, sent] : net_.writes_of(client))
      if (!net_.acked(client, request))
        net_.retry_write(client, request);
  }

  /// Kills a member or the joiner, keeping one live member that holds every
  /// acknowledged write: chain replication survives R - 1 failures.
  void kill_someone() {
    std::vector<replica_id> candidates = net_.live_members();
    if (auto joiner = net_.coordinator().joiner();
        joiner && !net_.killed(*joiner))
      candidates.push_back(*joiner);
    if (candidates.empty())
      return;
    auto victim = candidates[pick(candidates.size())];
    size_t survivors = 0;
    for (auto id : net_.live_members())
      if (id != victim && net_.replica(id).caught_up())
        ++survivors;
    if (survivors == 0)
      return;
    net_.kill(victim, coin(0.5));
    dying_.push_back(victim);
  }

  /// Time passes: leases renew, the coordinator removes the dead and brings
  /// the chain back to three.
  void tick() {
    net_.advance(5ms);
    net_.heartbeat_all();
    for (auto i = dying_.begin(); i != dying_.end();) {
      auto change = net_.coordinator().remove(*i);
      if (change.repair == chain_repair::wait_for_lease) {
        ++i;
        continue;
      }
      ++totals_.repairs[net_.apply(std::move(change))];
      i = dying_.erase(i);
    }
    auto& coordinator = net_.coordinator();
    if (!coordinator.joiner() && coordinator.config().replicas.size() < 3)
      ++totals_.repairs[net_.apply(coordinator.begin_join(net_.add_replica()))];
    record_acks();
  }

  void record_acks() {
    for (auto& [origin, key] : keys_of_)
      if (acked_.count(key) == 0 && net_.acked(origin.first, origin.second))
        acked_[key] = "v" + key.substr(1);
  }

  bool settled() {
    for (auto& [origin, key] : keys_of_)
      if (!net_.acked(origin.first, origin.second))
        return false;
    auto& coordinator = net_.coordinator();
    return dying_.empty() && !coordinator.joiner()
           && coordinator.config().replicas.size() == 3
           && net_.replica(coordinator.config().tail()).caught_up();
  }

  void drain() {
    for (int i = 0; i < 1000 && !settled(); ++i) {
      if (i % 10 == 0)
        for (size_t c = 0; c < clients; ++c)
          retry(first_client + c);
      net_.run();
      tick();
      net_.run();
    }
    if (!settled())
      describe();
    REQUIRE(settled());
    net_.run();
    record_acks();
  }

  /// What keeps the run from settling, for the failure report.
  void describe() {
    size_t unacked = 0;
    for (auto& [origin, key] : keys_of_)
      if (!net_.acked(origin.first, origin.second))
        ++unacked;
    auto& config = net_.coordinator().config();
    std::string chain;
    for (auto id : config.replicas) {
      auto& r = net_.replica(id);
      chain += " " + std::to_string(id) + (net_.killed(id) ? "(dead)" : "")
               + "[e" + std::to_string(r.epoch()) + " last "
               + std::to_string(r.last_applied()) + " acked "
               + std::to_string(r.acked()) + (r.caught_up() ? "" : " behind")
               + (r.retired() ? " retired" : "") + "]";
    }
    MESSAGE("unacked writes: " << unacked << ", dying: " << dying_.size()
                               << ", epoch " << config.epoch
                               << ", chain:" << chain);
  }

  void check() {
    auto members = net_.live_members();
    REQUIRE_EQ(members.size(), 3u);
    CHECK_EQ(digests(net_, members).size(), 1u);
    for (auto id : members) {
      CAPTURE(id);
      auto& store = net_.store(id);
      CHECK_EQ(net_.replica(id).last_applied(), store.last_applied());
      for (auto& [origin, key] : keys_of_) {
        CAPTURE(key);
        CHECK_LE(store.applications(origin.first, origin.second), 1u);
        CHECK_EQ(store.read(0, key), "v" + key.substr(1));
      }
    }
    size_t served = 0;
    for (auto& read : reads_) {
      auto answer = net_.answer(read.client, read.request);
      if (!answer)
        continue; // sent to a replica that died
      auto reply = std::get_if<chain_read_reply>(&answer->envelope.payload);
      if (!reply)
        continue; // refused
      CAPTURE(read.key);
      CHECK_EQ(reply->value, read.must_see);
      ++served;
    }
    CHECK_GT(served, 0u);
    totals_.reads += served;
    totals_.writes += keys_of_.size();
  }

public:
  /// What all runs together exercised.
  struct totals {
    size_t writes = 0;
    size_t reads = 0;
    std::map<chain_repair, size_t> repairs;
  };

  static totals& totals_of_all() {
    static totals result;
    return result;
  }

private:
  totals& totals_ = totals_of_all();

  std::mt19937_64 rng_;
  chain_network net_;
  size_t keys_ = 0;
  std::map<std::pair<chain_client_id, uint64_t>, std::string> keys_of_;
  std::map<std::string, std::string> acked_;
  std::vector<read_check> reads_;
  std::vector<replica_id> dying_;
};

} // namespace

TEST_CASE("random deaths lose no acknowledged write") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    random_run{seed}.run(300);
  }
  // Every kind of failure came up.
  auto& totals = random_run::totals_of_all();
  for (auto repair : {chain_repair::head_removed, chain_repair::middle_removed,
                      chain_repair::tail_removed, chain_repair::join_started,
                      chain_repair::join_cancelled}) {
    CAPTURE(static_cast<int>(repair));
    CHECK_GT(totals.repairs[repair], 0u);
  }
  MESSAGE("writes: " << totals.writes << ", reads served: " << totals.reads
                     << ", removals: "
                     << totals.repairs[chain_repair::head_removed]
                            + totals.repairs[chain_repair::middle_removed]
                            + totals.repairs[chain_repair::tail_removed]);
}
