#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "gcs/subscriber_table.hpp"
#include "gcs/pending_writes.hpp"
#include "proto/gcs_actor.hpp"
#include "storage/kv_store.hpp"
#include "storage/lmdb_kv_store.hpp"

namespace cafray {

/// How a GCS shard batches its writes.
struct gcs_shard_options {
  /// Longest time an accepted write waits for its commit; zero commits every
  /// write at once.
  std::chrono::microseconds flush_interval{2000};

  /// A batch this many writes large commits at once.
  size_t max_batch_rows = 4096;
};

/// State of one GCS shard.
struct gcs_shard_state {
  static inline const char* name = "gcs_shard";

  /// The shard's tables; shared only so that the spawn arguments stay
  /// copyable: the shard is the store's one user.
  std::shared_ptr<kv_store> store;

  gcs_shard_options options;

  /// Accepted, uncommitted writes.
  pending_writes pending;

  /// Acknowledged writes waiting for the next commit.
  std::vector<caf::typed_response_promise<ok_atom>> waiting;

  /// Whether a delayed flush is on its way.
  bool flush_armed = false;

  /// Who watches which row.
  subscriber_table subscribers;

  /// Number of successful commits, for tests and stats.
  size_t commits = 0;
};

/// The behavior of one GCS shard over `store`. Writes are committed in
/// groups (see `gcs_shard_options`); reads see uncommitted writes. On a
/// regular exit message the shard commits what is pending before it quits.
gcs_actor::behavior_type
gcs_shard(gcs_actor::stateful_pointer<gcs_shard_state> self,
          std::shared_ptr<kv_store> store, gcs_shard_options options);

/// Opens (or creates) the LMDB environment in `directory` and spawns a
/// detached shard over it, so that fsync never blocks a scheduler thread.
caf::expected<gcs_actor> spawn_gcs_shard(caf::actor_system& sys,
                                         const std::string& directory,
                                         lmdb_options storage,
                                         gcs_shard_options options);

} // namespace cafray
