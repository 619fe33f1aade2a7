#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "gcs/chain.hpp"
#include "proto/gcs_chain_actor.hpp"

namespace cafray {

/// How a chain client retries.
struct gcs_chain_client_options {
  /// A request unanswered this long is sent again, after asking the
  /// coordinator for the configuration (its replica may be gone).
  std::chrono::milliseconds resend_after{400};

  /// How often the client looks for parked requests (sent again once a
  /// configuration arrives, or refused); with none parked it looks for
  /// overdue ones every quarter of `resend_after` (`idle_tick_interval`), so
  /// that the clients of a busy process do not wake its clock thread a
  /// hundred times a second each.
  std::chrono::milliseconds tick_interval{10};

  std::chrono::milliseconds idle_tick_interval() const {
    return std::max(tick_interval, resend_after / 4);
  }

  /// A request unanswered this long fails with `errc::timeout`.
  std::chrono::milliseconds request_timeout{10000};

  /// How long the client waits for the coordinator's answer.
  std::chrono::milliseconds coordinator_timeout{1000};

  /// Names the client in the shard's retry table; 0 picks a random one.
  chain_client_id id = 0;

  /// The process's endpoint the client's writes go through, together with
  /// those of the process's other clients (`gcs_chain_endpoint.hpp`); none
  /// sends them to the head directly.
  gcs_chain_endpoint_actor endpoint;
};

/// Writes submitted together, answered together.
struct gcs_chain_write_group {
  caf::typed_response_promise<uint64_t> written;
  size_t remaining = 0;
  uint64_t last_seq = 0;
  bool failed = false;
};

/// A write or read the client has not been answered yet.
struct gcs_chain_pending {
  bool write = false;
  wire::chain_write row;
  caf::typed_response_promise<uint64_t> written;
  /// Set for a write of a group: the group holds the promise.
  std::shared_ptr<gcs_chain_write_group> group;
  caf::typed_response_promise<wire::chain_read_result> read;
  chain_time started;
  chain_time sent;
  /// Sent only once a configuration arrives: refused, or no chain yet.
  bool parked = false;
  /// How often it was sent, and why it was last refused (for the log line
  /// of a request that times out).
  uint32_t attempts = 0;
  int last_refusal = -1;
};

/// State of a chain client.
struct gcs_chain_client_state {
  static inline const char* name = "gcs_chain_client";

  gcs_chain_client_options options;

  gcs_coordinator_actor coordinator;

  chain_client_id id = 0;

  uint64_t next_request = 0;

  /// The configuration requests go to; epoch 0 before the first one.
  wire::chain_configuration config;

  /// Unanswered requests by number: the client's own table rather than
  /// many outstanding CAF requests (CAF-NOTES: their lookup is linear).
  std::map<uint64_t, gcs_chain_pending> pending;

  /// Whether a configuration request is on its way.
  bool refreshing = false;

  /// The head or tail of `config` went down: ask the coordinator again with
  /// every tick until it answers with a newer configuration (it may answer
  /// before it noticed the death itself).
  bool suspect = false;

  /// Requests submitted but not sent yet: everything submitted before the
  /// client's next `flush_atom` goes in one message to the head, which
  /// applies it in one transaction.
  std::vector<uint64_t> unsent;

  /// Whether a `flush_atom` is on its way to the client itself.
  bool flushing = false;

  /// Endpoints of replicas this client's process connected to.
  std::set<std::pair<std::string, uint16_t>> connected;

  /// Whether the retry timer runs; it stops while nothing is pending.
  bool ticking = false;

  /// When the latest tick scheduled comes. The timer looks every
  /// `tick_interval` while a request is parked, otherwise every
  /// `idle_tick_interval()`; a tick that comes before this time is an
  /// earlier one overtaken and schedules no next one.
  chain_time tick_due;

  caf::actor_addr head;

  caf::actor_addr tail;
};

using gcs_chain_client_pointer
  = gcs_chain_client_actor::stateful_pointer<gcs_chain_client_state>;

/// A client of one shard's chain: writes go to the head and are answered
/// once the tail applied them, reads go to the tail. Requests are retried
/// across reconfigurations (each write is applied once: the shard keeps a
/// retry table), so callers see only the final answer or, when the shard is
/// gone for longer than `request_timeout`, `errc::timeout`; a full shard
/// answers `errc::gcs_full`, a write the shard cannot hold (table number,
/// key size) `errc::storage_error`.
gcs_chain_client_actor::behavior_type
gcs_chain_client(gcs_chain_client_pointer self,
                 gcs_coordinator_actor coordinator,
                 gcs_chain_client_options options);

} // namespace cafray
