#include "node/worker_main.hpp"

#include <cstdio>

#include <caf/scoped_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "api/runtime.hpp"

namespace cafray::node {

int run_worker(const std::string& agent, uint32_t index,
               const std::string& actor) {
  runtime_config cfg;
  cfg.role = "worker";
  cfg.address = agent;
  cfg.worker_index = index;
  cfg.worker_actor = actor;
  // One thread runs the worker actor and the core worker; the task runs on
  // the executor thread.
  cfg.scheduler_threads = 1;
  try {
    cafray::init(cfg);
  } catch (const std::exception& e) {
    if (actor.empty())
      std::fprintf(stderr, "caf-node worker %u: cannot start: %s\n", index,
                   e.what());
    else
      std::fprintf(stderr, "caf-node worker for actor %s: cannot start: %s\n",
                   actor.c_str(), e.what());
    return 1;
  }
  {
    // Until the raylet stops this worker (or its actor ends), or the node
    // goes away.
    auto& r = detail::rt();
    caf::scoped_actor self{*r.sys};
    if (r.worker)
      self->monitor(r.worker);
    if (r.published)
      self->monitor(r.published);
    self->monitor(r.raylet);
    self->receive([](caf::down_msg&) {});
  }
  cafray::shutdown();
  return 0;
}

} // namespace cafray::node
