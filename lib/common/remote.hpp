#pragma once

// Reaching an actor published in another process.
//
// CAF 0.17.6 starts the idle clock of an outgoing connection at the epoch
// (basp_broker's connect handler leaves `last_seen` unset until the peer's
// first bytes arrive). A heartbeat tick that falls between the connect and
// the peer's handshake therefore cuts a healthy new connection with
// sec::connection_timeout. With ticks every 200 ms that is rare on an idle
// machine and not rare on a loaded one, where a process just started may
// take tens of milliseconds to answer (measured: a peer stopped for 300 ms
// failed 10 of 10 first attempts; retried, 0 of 10). Such a cut is retried
// here; every other failure is the caller's answer.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman.hpp>
#include <caf/sec.hpp>

namespace cafray {

/// How long a peer may take to answer a handshake, over all attempts (as
/// long as the connection timeout of a cluster process).
constexpr auto handshake_patience = std::chrono::seconds{5};

/// True for the error CAF gives a connection cut by its heartbeat tick.
inline bool cut_during_handshake(const caf::error& err) {
  return err == caf::sec::connection_timeout;
}

/// Calls `attempt` (which returns a caf::expected) until it succeeds,
/// fails otherwise than by a handshake cut, or `handshake_patience` passed.
template <class Attempt>
auto retry_cut_handshakes(Attempt attempt) {
  auto deadline = std::chrono::steady_clock::now() + handshake_patience;
  auto result = attempt();
  while (!result && cut_during_handshake(result.error())
         && std::chrono::steady_clock::now() < deadline)
    result = attempt();
  return result;
}

/// `sys.middleman().remote_actor<Handle>(host, port)`, tried again when the
/// connection was cut during its handshake.
template <class Handle = caf::actor>
caf::expected<Handle> remote_actor(caf::actor_system& sys,
                                   const std::string& host, uint16_t port) {
  return retry_cut_handshakes(
    [&] { return sys.middleman().remote_actor<Handle>(host, port); });
}

/// `sys.middleman().connect(host, port)`, tried again the same way.
inline caf::expected<caf::node_id>
connect_node(caf::actor_system& sys, const std::string& host, uint16_t port) {
  return retry_cut_handshakes([&] { return sys.middleman().connect(host, port); });
}

} // namespace cafray
