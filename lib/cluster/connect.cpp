#include "common/remote.hpp"
#include "cluster/connect.hpp"

#include <algorithm>
#include <cstdlib>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "common/error.hpp"

namespace cafray {

caf::expected<endpoint> parse_endpoint(const std::string& address) {
  auto bad = [&] {
    return make_error(errc::invalid_config,
                      "address '" + address
                        + "': expected \"host:port\" with a port in [1, 65535]");
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return bad();
  auto port = address.substr(colon + 1);
  if (port.size() > 5
      || !std::all_of(port.begin(), port.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  auto n = std::stoul(port);
  if (n < 1 || n > 65535)
    return bad();
  return endpoint{address.substr(0, colon), static_cast<uint16_t>(n)};
}

std::string protocol_version() {
  if (auto env = std::getenv("CAFRAY_PROTOCOL_VERSION"); env && *env)
    return env;
  return cluster_protocol_version;
}

void configure_cluster_middleman(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.enable-automatic-connections", false);
  cfg.set("middleman.workers", size_t{0});
  // Same values in every process (CAF-NOTES pitfall 4); generous enough
  // that a loaded 2-core machine does not drop healthy connections.
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::milliseconds{200}});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::seconds{5}});
}

caf::expected<cluster_actor> reach_head(caf::actor_system& sys,
                                        const std::string& address) {
  auto ep = parse_endpoint(address);
  if (!ep)
    return ep.error();
  auto head = remote_actor<cluster_actor>(sys, ep->host, ep->port);
  if (!head)
    return make_error(errc::peer_unreachable, "cannot reach the head at " + address
                                           + ": " + sys.render(head.error()));
  return head;
}

namespace {

template <class... Ts>
caf::expected<cluster_welcome> ask(caf::actor_system& sys,
                                   const cluster_actor& head, Ts&&... xs) {
  caf::expected<cluster_welcome> result{cluster_welcome{}};
  caf::scoped_actor self{sys};
  self->request(head, cluster_join_timeout, std::forward<Ts>(xs)...)
    .receive([&](cluster_welcome& w) { result = std::move(w); },
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 result = make_error(errc::peer_unreachable,
                                     "the head did not answer within 5 s");
               else
                 result = std::move(err);
             });
  return result;
}

} // namespace

caf::expected<cluster_welcome> attach_to(caf::actor_system& sys,
                                         const cluster_actor& head) {
  return ask(sys, head, attach_atom_v, protocol_version());
}

caf::expected<cluster_welcome> join_as(caf::actor_system& sys,
                                       const cluster_actor& head,
                                       const member_info& self) {
  return ask(sys, head, join_atom_v, self, protocol_version());
}

void connect_members(caf::actor_system& sys,
                     const std::vector<member_info>& members,
                     const node_id& self) {
  for (auto& m : members)
    if (m.id != self && m.port != 0)
      static_cast<void>(connect_node(sys, m.host, m.port));
}

} // namespace cafray
