#include "gcs/gcs_client.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "gcs/gcs_shard.hpp"

namespace cafray {

namespace {

caf::expected<std::string> make_temp_directory() {
  auto tmp = std::getenv("TMPDIR");
  std::string pattern = std::string{tmp != nullptr && *tmp != '\0' ? tmp
                                                                   : "/tmp"}
                        + "/cafray-gcs-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    return make_error(errc::storage_error,
                      "cannot create a temporary directory like " + pattern);
  return pattern;
}

void remove_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec)
    fmt::print(stderr, "[gcs] cannot remove {}: {}\n", dir, ec.message());
}

caf::error validate(const runtime_config& cfg) {
  if (cfg.gcs_shards == 0)
    return make_error(errc::invalid_config, "gcs_shards must be at least 1");
  if (cfg.gcs_replicas == 0)
    return make_error(errc::invalid_config, "gcs_replicas must be at least 1");
  if (cfg.gcs_map_size_mb == 0)
    return make_error(errc::invalid_config,
                      "gcs_map_size_mb must be at least 1");
  if (cfg.gcs_max_map_size_mb < cfg.gcs_map_size_mb)
    return make_error(errc::invalid_config,
                      "gcs_max_map_size_mb must not be below gcs_map_size_mb");
  return caf::none;
}

// A shard directory holds either one LMDB environment (gcs_replicas = 1) or
// a chain's replica directories: reading one as the other would start empty.
caf::error check_layout(const std::string& shard_dir, uint32_t replicas) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto single = fs::exists(shard_dir + "/data.mdb", ec);
  auto chain = fs::exists(shard_dir + "/chain.state", ec)
               || fs::exists(shard_dir + "/replica-1", ec);
  if (replicas == 1 && chain)
    return make_error(errc::invalid_config,
                      shard_dir + " holds a replicated GCS shard, but "
                                  "gcs_replicas is 1");
  if (replicas > 1 && single)
    return make_error(errc::invalid_config,
                      shard_dir + " holds an unreplicated GCS shard, but "
                                  "gcs_replicas is "
                        + std::to_string(replicas));
  return caf::none;
}

} // namespace

gcs_client::gcs_client(caf::actor_system& sys, std::vector<gcs_actor> shards,
                       std::string directory, bool temporary,
                       std::vector<gcs_chain_parts> chains)
  : sys_(&sys),
    router_(std::move(shards)),
    chains_(std::move(chains)),
    directory_(std::move(directory)),
    temporary_(temporary) {
  // nop
}

gcs_client::gcs_client(gcs_client&& other) noexcept
  : sys_(other.sys_),
    router_(std::move(other.router_)),
    chains_(std::move(other.chains_)),
    directory_(std::move(other.directory_)),
    temporary_(other.temporary_) {
  other.sys_ = nullptr;
  other.router_ = gcs_router{};
  other.chains_.clear();
  other.temporary_ = false;
}

gcs_client& gcs_client::operator=(gcs_client&& other) noexcept {
  if (this != &other) {
    shutdown();
    sys_ = other.sys_;
    router_ = std::move(other.router_);
    chains_ = std::move(other.chains_);
    directory_ = std::move(other.directory_);
    temporary_ = other.temporary_;
    other.sys_ = nullptr;
    other.router_ = gcs_router{};
    other.chains_.clear();
    other.temporary_ = false;
  }
  return *this;
}

gcs_client::~gcs_client() {
  shutdown();
}

void gcs_client::shutdown() {
  if (sys_ != nullptr && !router_.empty()) {
    for (auto& shard : router_.shards())
      caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    caf::scoped_actor self{*sys_};
    self->wait_for(router_.shards());
  }
  if (sys_ != nullptr && !chains_.empty()) {
    // The shards in front are gone: nothing writes to the chains any more.
    // The coordinators go first, so that none of them takes the replicas'
    // exits for failures and records a shorter chain for the next start.
    std::vector<caf::actor> coordinators;
    std::vector<caf::actor> rest;
    for (auto& chain : chains_) {
      coordinators.push_back(caf::actor_cast<caf::actor>(chain.coordinator));
      rest.push_back(caf::actor_cast<caf::actor>(chain.client));
      for (auto& replica : chain.replicas)
        rest.push_back(caf::actor_cast<caf::actor>(replica));
    }
    caf::scoped_actor self{*sys_};
    for (auto& x : coordinators)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    self->wait_for(coordinators);
    // Only the coordinators start replacements: the list is complete now.
    for (auto& chain : chains_)
      if (chain.replacements)
        for (auto& replica : chain.replacements->get())
          rest.push_back(caf::actor_cast<caf::actor>(replica));
    for (auto& x : rest)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    self->wait_for(rest);
  }
  chains_.clear();
  router_ = gcs_router{};
  sys_ = nullptr;
  if (temporary_ && !directory_.empty())
    remove_directory(directory_);
  temporary_ = false;
}

caf::expected<gcs_client> spawn_gcs(caf::actor_system& sys,
                                    const runtime_config& cfg) {
  if (auto err = validate(cfg))
    return err;
  auto directory = cfg.gcs_directory;
  bool temporary = directory.empty();
  if (temporary) {
    auto tmp = make_temp_directory();
    if (!tmp)
      return std::move(tmp.error());
    directory = std::move(*tmp);
  }
  lmdb_options storage;
  storage.tables = gcs_table_count;
  storage.map_size = size_t{cfg.gcs_map_size_mb} << 20;
  storage.max_map_size = size_t{cfg.gcs_max_map_size_mb} << 20;
  storage.sync = !temporary;
  gcs_shard_options options;
  options.flush_interval = std::chrono::microseconds{cfg.gcs_flush_interval_us};
  std::vector<gcs_actor> shards;
  std::vector<gcs_chain_parts> chains;
  for (uint32_t i = 0; i < cfg.gcs_shards; ++i) {
    auto shard_dir = directory + "/shard-" + std::to_string(i);
    caf::expected<gcs_actor> shard{caf::error{}};
    if (auto err = check_layout(shard_dir, cfg.gcs_replicas)) {
      shard = std::move(err);
    } else if (cfg.gcs_replicas == 1) {
      shard = spawn_gcs_shard(sys, shard_dir, storage, options);
    } else if (auto chain = spawn_gcs_chain_shard(sys, i, shard_dir,
                                                  cfg.gcs_replicas, storage)) {
      shard = chain->shard;
      chains.push_back(std::move(*chain));
    } else {
      shard = std::move(chain.error());
    }
    if (!shard) {
      // The client takes what is running and cleans up after it.
      gcs_client partial{sys, std::move(shards), directory, temporary,
                         std::move(chains)};
      partial.shutdown();
      return std::move(shard.error());
    }
    shards.push_back(std::move(*shard));
  }
  return gcs_client{sys, std::move(shards), std::move(directory), temporary,
                    std::move(chains)};
}

} // namespace cafray
