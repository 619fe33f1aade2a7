#include "node/status.hpp"

#include <cstdio>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/core.h>

#include "cluster/connect.hpp"
#include "common/error.hpp"
#include "proto/register_types.hpp"

namespace cafray::node {

namespace {

std::string amount(const resource_map& xs, const std::string& name) {
  auto i = xs.find(name);
  auto milli = i == xs.end() ? 0 : i->second;
  if (milli % 1000 == 0)
    return std::to_string(milli / 1000);
  return fmt::format("{:.1f}", static_cast<double>(milli) / 1000.0);
}

std::string bytes(uint64_t n) {
  if (n < 1024)
    return std::to_string(n) + " B";
  if (n < 1024 * 1024)
    return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < 1024ull * 1024 * 1024)
    return fmt::format("{:.1f} MiB", n / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", n / (1024.0 * 1024 * 1024));
}

} // namespace

std::string render_status(const std::string& address,
                          const cluster_status& status) {
  size_t alive = 0;
  size_t draining = 0;
  for (auto& n : status.nodes) {
    alive += n.alive ? 1 : 0;
    draining += n.alive && n.draining ? 1 : 0;
  }
  std::string out = fmt::format("cluster at {}: {} nodes, {} alive", address,
                                status.nodes.size(), alive);
  if (draining > 0)
    out += fmt::format(" ({} draining)", draining);
  out += "\n";
  for (auto& n : status.nodes) {
    auto& m = n.member;
    out += fmt::format("node {} {} {}:{} {}", to_string(m.id).substr(0, 12),
                       m.head ? "head" : "node", m.host, m.port,
                       !n.alive ? "dead" : n.draining ? "draining" : "alive");
    // Resources: available/total, CPU first.
    auto& avail = n.answered ? n.load.available : resource_map{};
    out += fmt::format(" CPU {}/{}", amount(avail, "CPU"),
                       amount(m.total, "CPU"));
    for (auto& [name, total] : m.total)
      if (name != "CPU")
        out += fmt::format(" {} {}/{}", name, amount(avail, name),
                           amount(m.total, name));
    if (n.answered)
      out += fmt::format(" workers {} running {} queued {} objects {} ({})",
                         n.load.workers, n.load.running, n.load.queued,
                         n.store.objects, bytes(n.store.bytes));
    out += "\n";
  }
  out += "actors:";
  if (status.actors_by_state.empty())
    out += " none";
  for (size_t i = 0; i < status.actors_by_state.size(); ++i)
    out += fmt::format("{} {} {}", i == 0 ? "" : ",",
                       status.actors_by_state[i].key,
                       status.actors_by_state[i].value);
  out += "\n";
  return out;
}

int run_status(const std::string& address) {
  if (auto ep = parse_endpoint(address); !ep) {
    std::fprintf(stderr, "caf-node status: %s\n",
                 render(ep.error()).c_str());
    return 2;
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  configure_cluster_middleman(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Never destroyed: CAF 0.17's shutdown can hang on a connection to a
  // process that died meanwhile (CAF-NOTES pitfall 7); the caller exits.
  auto* sys = new caf::actor_system{cfg};
  auto head = reach_head(*sys, address);
  if (!head) {
    std::fprintf(stderr, "caf-node status: %s\n",
                 render(head.error()).c_str());
    return 1;
  }
  int rc = 0;
  caf::scoped_actor self{*sys};
  self->request(*head, std::chrono::seconds{10}, status_atom_v)
    .receive(
      [&](cluster_status& status) {
        std::fputs(render_status(address, status).c_str(), stdout);
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "caf-node status: %s\n",
                     sys->render(err).c_str());
        rc = 1;
      });
  return rc;
}

} // namespace cafray::node
