#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "common/runtime_config.hpp"
#include "gcs/gcs_chain_shard.hpp"
#include "proto/gcs_actor.hpp"
#include "proto/gcs_router.hpp"

namespace cafray {

/// Owns the running GCS shards of one process: routes keys to shards and
/// shuts them down, and for chain-backed shards the actors behind them. Move-only; `shutdown()` (or the destructor) must run
/// before the actor system goes away.
class gcs_client {
public:
  gcs_client() = default;

  gcs_client(caf::actor_system& sys, std::vector<gcs_actor> shards,
             std::string directory, bool temporary,
             std::vector<gcs_chain_parts> chains = {});

  /// Shards another process runs (a cluster's head): routes only;
  /// `shutdown()` leaves them alone.
  explicit gcs_client(gcs_router remote) : router_(std::move(remote)) {
  }

  gcs_client(gcs_client&& other) noexcept;

  gcs_client& operator=(gcs_client&& other) noexcept;

  gcs_client(const gcs_client&) = delete;
  gcs_client& operator=(const gcs_client&) = delete;

  ~gcs_client();

  /// The shard responsible for `key` (in any table): `stable_hash(key) % S`.
  const gcs_actor& shard_for(const std::string& key) const {
    return router_.shard_for(key);
  }

  /// Index of the shard responsible for `key`.
  size_t index_of(const std::string& key) const noexcept {
    return router_.index_of(key);
  }

  /// The routing table, to hand to other components (copyable).
  const gcs_router& router() const noexcept {
    return router_;
  }

  const std::vector<gcs_actor>& shards() const noexcept {
    return router_.shards();
  }

  /// The chains behind the shards, one per shard; empty when every shard
  /// is a single `gcs_shard` (gcs_replicas = 1).
  const std::vector<gcs_chain_parts>& chains() const noexcept {
    return chains_;
  }

  /// Directory holding `shard-<i>` for every shard.
  const std::string& directory() const noexcept {
    return directory_;
  }

  /// Whether `shutdown()` removes `directory()`.
  bool temporary() const noexcept {
    return temporary_;
  }

  /// Sends an exit to every shard (each commits its pending writes first, a
  /// chain-backed one waits for the chain's answers), waits for them to
  /// terminate, then stops the chains behind them, and removes a temporary
  /// directory. Idempotent.
  void shutdown();

private:
  caf::actor_system* sys_ = nullptr;
  gcs_router router_;
  std::vector<gcs_chain_parts> chains_;
  std::string directory_;
  bool temporary_ = false;
};

/// Spawns `cfg.gcs_shards` shards, shard `i` persisting to
/// `<cfg.gcs_directory>/shard-<i>`: with `cfg.gcs_replicas` = 1 a
/// `gcs_shard` over one LMDB environment there (the fast path), with more
/// a chain of that many replicas in `shard-<i>/replica-<j>` behind a
/// `gcs_chain_shard` (see `spawn_gcs_chain_shard`). A directory written
/// with one layout is refused with the other (`errc::invalid_config`). An empty `gcs_directory` gets a fresh
/// temporary directory (under $TMPDIR or /tmp) that `shutdown()` removes;
/// commits then skip fsync, since nothing outlives the process anyway.
/// Fails with `errc::invalid_config` on bad settings and
/// `errc::storage_error` if LMDB cannot open.
caf::expected<gcs_client> spawn_gcs(caf::actor_system& sys,
                                    const runtime_config& cfg);

} // namespace cafray
