#pragma once

// Reaching a running cluster from another process: the blocking steps a
// node or a driver takes at start (they run before any actor of theirs).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "proto/cluster_actor.hpp"

namespace cafray {

/// How long a starting process waits for the head at most.
constexpr auto cluster_join_timeout = std::chrono::seconds{5};

/// A "host:port" pair.
struct endpoint {
  std::string host;
  uint16_t port = 0;
};

/// Parses "host:port" (port in [1, 65535]); errc::invalid_config otherwise.
caf::expected<endpoint> parse_endpoint(const std::string& address);

/// The protocol version this process speaks: `cluster_protocol_version`,
/// unless the environment variable CAFRAY_PROTOCOL_VERSION overrides it
/// (for tests of a mismatched deployment).
std::string protocol_version();

/// Loads the middleman and sets what every cluster process must share:
/// no automatic connections (processes connect to the endpoints the
/// directory names), and heartbeats that notice a hung peer.
void configure_cluster_middleman(caf::actor_system_config& cfg);

/// Connects to the head's directory at `address`: errc::peer_unreachable with
/// the address and the reason if nobody answers there.
caf::expected<cluster_actor> reach_head(caf::actor_system& sys,
                                        const std::string& address);

/// Asks the head how to reach the cluster (errc::version_mismatch,
/// errc::peer_unreachable on timeout).
caf::expected<cluster_welcome> attach_to(caf::actor_system& sys,
                                         const cluster_actor& head);

/// Joins the cluster as a node described by `self`.
caf::expected<cluster_welcome> join_as(caf::actor_system& sys,
                                       const cluster_actor& head,
                                       const member_info& self);

/// Opens a direct connection to every member but `self` (messages to a
/// member then never travel through a third process). Failures are
/// ignored: the member is gone or will be reported dead.
void connect_members(caf::actor_system& sys,
                     const std::vector<member_info>& members,
                     const node_id& self);

} // namespace cafray
