#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
#include "proto/gcs_actor.hpp"
#include "proto/gcs_chain_actor.hpp"
#include "storage/lmdb_kv_store.hpp"

namespace cafray {

/// How a chain-backed shard talks to its chain.
struct gcs_chain_shard_options {
  /// Most groups of writes waiting for the chain client's answer at once;
  /// the rest queue here and go as one group when a group comes back, so
  /// that a busy shard writes large transactions.
  size_t max_in_flight = 4;

  /// Most writes in one group (one message to the head, one transaction
  /// per replica).
  size_t max_group_rows = 1024;

  /// How long a scan keeps retrying while the chain reconfigures.
  std::chrono::milliseconds scan_timeout{10000};

  /// Pause between two attempts of a scan.
  std::chrono::milliseconds scan_retry{20};
};

/// A write the shard accepted and the tail has not acknowledged yet.
struct gcs_chain_shard_write {
  uint8_t table = 0;
  std::string key;
  bool erase = false;
  std::string value;
  /// Answered once the tail applied the write; none for a batched row.
  caf::typed_response_promise<ok_atom> done;
  bool answer = false;
};

/// State of a shard served by a chain.
struct gcs_chain_shard_state {
  static inline const char* name = "gcs_chain_shard";

  gcs_chain_shard_options options;

  gcs_chain_client_actor client;

  gcs_coordinator_actor coordinator;

  /// Writes by number, in the order they were accepted.
  std::map<uint64_t, gcs_chain_shard_write> writes;

  /// Numbers of accepted writes not yet handed to the client.
  std::deque<uint64_t> queued;

  /// Groups of writes handed to the client and not answered yet.
  size_t in_flight = 0;

  uint64_t next_write = 0;

  /// The number of the last accepted write of each (table, key) while it
  /// is unacknowledged: a read of that key waits for it.
  std::map<std::pair<uint8_t, std::string>, uint64_t> last_write;

  /// Work that waits until every write up to a number is answered.
  std::multimap<uint64_t, std::function<void()>> barriers;

  /// Who watches which row.
  subscriber_table subscribers;

  /// Scans waiting for their next attempt.
  std::vector<std::function<void()>> scan_retries;

  /// Whether a retry timer is on its way.
  bool retry_armed = false;

  /// Whether an exit arrived: quit once every accepted write is answered.
  bool closing = false;

  caf::error exit_reason;
};

using gcs_chain_shard_pointer
  = gcs_actor::stateful_pointer<gcs_chain_shard_state>;

/// One GCS shard as the rest of the runtime sees it (`gcs_actor`), served
/// by a chain of replicas through `client`: writes go to the head and are
/// answered once the tail applied them, reads go to the tail (`get` through
/// the client, `scan` to the tail of the configuration `coordinator`
/// hands out). Subscribers are notified of a write once the tail applied
/// it, so a notification never announces a write a failure could still
/// lose; this assumes the shard is its chain's only writer, as in the
/// embedded runtime. A read of a key waits for the shard's unanswered
/// writes of that key (a scan or flush for all of them), so callers read
/// their own writes as with `gcs_shard`. On an exit, the shard stays until
/// the chain answered every write it accepted.
gcs_actor::behavior_type
gcs_chain_shard(gcs_chain_shard_pointer self, gcs_chain_client_actor client,
                gcs_coordinator_actor coordinator,
                gcs_chain_shard_options options);

/// Replicas a coordinator started to replace lost ones, so that whoever
/// stops the shard stops them too.
struct gcs_replacement_list {
  std::mutex mtx;
  std::vector<gcs_replica_actor> replicas;

  std::vector<gcs_replica_actor> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return replicas;
  }
};

/// The actors of one chain-backed shard.
struct gcs_chain_parts {
  /// What the runtime talks to.
  gcs_actor shard;
  gcs_chain_client_actor client;
  gcs_coordinator_actor coordinator;
  /// Head first at startup.
  std::vector<gcs_replica_actor> replicas;
  /// Replicas started later, in order.
  std::shared_ptr<gcs_replacement_list> replacements;
};

/// Spawns shard `index` as a chain of `replicas` replicas with ids
/// 1..`replicas`, replica `j` persisting to `<directory>/replica-<j>`, its
/// coordinator keeping the chain in `<directory>/chain.state`, a chain
/// client and the `gcs_chain_shard` in front. Replicas run detached when
/// commits wait for fsync. Leases last a second: a dead tail stalls writes
/// that long.
///
/// When a replica dies, the coordinator starts a replacement under the next
/// free id, which copies the tail's state and joins at the tail. A restart
/// from the same directory starts the replicas `chain.state` names (the
/// chain resumes) and, should it name fewer than `replicas`, more under
/// the smallest free ids, which join by copying the state. Fails with
/// `errc::invalid_config` if the directory holds a chain of more than
/// `replicas` replicas, `errc::storage_error` if LMDB cannot open.
caf::expected<gcs_chain_parts>
spawn_gcs_chain_shard(caf::actor_system& sys, uint32_t index,
                      const std::string& directory, uint32_t replicas,
                      lmdb_options storage,
                      gcs_chain_shard_options options = {});

} // namespace cafray
