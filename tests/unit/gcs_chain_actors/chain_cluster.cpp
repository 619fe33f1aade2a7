#include "chain_cluster.hpp"

#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "common/error.hpp"
#include "proto/register_types.hpp"

namespace cafray::test {

gcs_coordinator_options test_coordinator_options(size_t replicas) {
  gcs_coordinator_options result;
  result.shard = 1;
  for (size_t i = 1; i <= replicas; ++i)
    result.replicas.push_back(i);
  result.lease = std::chrono::milliseconds{200};
  result.grace = std::chrono::milliseconds{20};
  result.check_interval = std::chrono::milliseconds{20};
  return result;
}

chain_cluster::chain_cluster(size_t replicas, gcs_coordinator_options options)
  : options_(std::move(options)) {
  if (options_.replicas.empty())
    options_ = test_coordinator_options(replicas);
  if (options_.state_file.empty())
    options_.state_file = dir_.path() + "/coordinator.chain";
  register_types(cfg_);
  cfg_.set("scheduler.max-threads", 2);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  self_ = std::make_unique<caf::scoped_actor>(*sys_);
  spawn_coordinator();
  for (auto id : options_.replicas)
    spawn_replica(id);
  auto wanted = options_.replicas;
  REQUIRE(wait_for_chain([&](auto& ids) { return ids == wanted; }));
}

chain_cluster::~chain_cluster() {
  std::vector<caf::actor> all = others_;
  for (auto& [id, handle] : replicas_)
    all.push_back(caf::actor_cast<caf::actor>(handle));
  if (coordinator_)
    all.push_back(caf::actor_cast<caf::actor>(coordinator_));
  for (auto& handle : all)
    caf::anon_send_exit(handle, caf::exit_reason::kill);
  (*self_)->wait_for(all);
  others_.clear();
  replicas_.clear();
  coordinator_ = nullptr;
  self_.reset();
  sys_.reset();
}

void chain_cluster::spawn_coordinator() {
  coordinator_ = sys_->spawn(gcs_coordinator, options_);
}

std::string chain_cluster::directory(replica_id id) const {
  return dir_.path() + "/replica-" + std::to_string(id);
}

gcs_replica_actor chain_cluster::spawn_replica(replica_id id) {
  lmdb_options storage;
  storage.sync = false;
  gcs_replica_options options;
  options.heartbeat_interval = std::chrono::milliseconds{40};
  // Small parts, so that a join sends several.
  options.snapshot_chunk_bytes = 4096;
  auto handle = spawn_gcs_replica(*sys_, id, directory(id), storage,
                                  coordinator_, options);
  REQUIRE_MESSAGE(handle, render(handle.error()));
  replicas_[id] = *handle;
  return *handle;
}

void chain_cluster::kill(replica_id id) {
  auto i = replicas_.find(id);
  REQUIRE(i != replicas_.end());
  auto handle = caf::actor_cast<caf::actor>(i->second);
  replicas_.erase(i);
  caf::anon_send_exit(handle, caf::exit_reason::kill);
  (*self_)->wait_for(handle);
}

void chain_cluster::restart_all() {
  auto members = chain();
  std::vector<caf::actor> all;
  for (auto& [id, handle] : replicas_)
    all.push_back(caf::actor_cast<caf::actor>(handle));
  all.push_back(caf::actor_cast<caf::actor>(coordinator_));
  for (auto& handle : all)
    caf::anon_send_exit(handle, caf::exit_reason::kill);
  (*self_)->wait_for(all);
  replicas_.clear();
  spawn_coordinator();
  for (auto id : members)
    spawn_replica(id);
}

wire::chain_configuration chain_cluster::config() {
  wire::chain_configuration result;
  (*self_)
    ->request(coordinator_, timeout, get_atom_v)
    .receive([&](wire::chain_configuration& x) { result = std::move(x); },
             [&](caf::error& err) { FAIL("no configuration: " << render(err)); });
  return result;
}

std::vector<replica_id> chain_cluster::chain() {
  std::vector<replica_id> result;
  for (auto& member : config().members)
    result.push_back(member.replica);
  return result;
}

bool chain_cluster::wait_for_chain(
  std::function<bool(const std::vector<replica_id>&)> pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(chain()))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

bool chain_cluster::wait_for_applied(uint64_t seq) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (auto id : chain()) {
      auto x = status(id);
      all = all && x && x->last_applied >= seq;
    }
    if (all)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

caf::expected<wire::chain_replica_status>
chain_cluster::status(replica_id id) {
  auto i = replicas_.find(id);
  if (i == replicas_.end())
    return make_error(errc::not_found, "replica " + std::to_string(id));
  caf::expected<wire::chain_replica_status> result = make_error(errc::timeout);
  (*self_)
    ->request(i->second, timeout, stats_atom_v)
    .receive([&](wire::chain_replica_status& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

gcs_chain_client_actor
chain_cluster::spawn_client(gcs_chain_client_options options) {
  auto client = sys_->spawn(gcs_chain_client, coordinator_, options);
  adopt(caf::actor_cast<caf::actor>(client));
  return client;
}

caf::expected<uint64_t> chain_cluster::put(const gcs_chain_client_actor& client,
                                           uint8_t table, std::string key,
                                           std::string value) {
  caf::expected<uint64_t> result = make_error(errc::timeout);
  (*self_)
    ->request(client, timeout, put_atom_v, table, std::move(key),
              std::move(value))
    .receive([&](uint64_t seq) { result = seq; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<uint64_t>
chain_cluster::erase(const gcs_chain_client_actor& client, uint8_t table,
                     std::string key) {
  caf::expected<uint64_t> result = make_error(errc::timeout);
  (*self_)
    ->request(client, timeout, delete_atom_v, table, std::move(key))
    .receive([&](uint64_t seq) { result = seq; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<wire::chain_read_result>
chain_cluster::get(const gcs_chain_client_actor& client, uint8_t table,
                   std::string key) {
  caf::expected<wire::chain_read_result> result = make_error(errc::timeout);
  (*self_)
    ->request(client, timeout, get_atom_v, table, std::move(key))
    .receive([&](wire::chain_read_result& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace cafray::test
