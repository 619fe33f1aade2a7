#include "api/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/logger.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "api/behavior.hpp"
#include "api/core_worker.hpp"
#include "api/detail/cluster_start.hpp"
#include "api/detail/code.hpp"
#include "api/detail/runtime_state.hpp"
#include "api/detail/yielding_scheduler.hpp"
#include "cluster/connect.hpp"
#include "cluster/directory.hpp"
#include "cluster/node_agent.hpp"
#include "worker/process.hpp"
#include "worker/worker.hpp"
#include "api/detail/waiters.hpp"
#include "gcs/gcs_client.hpp"
#include "object_store/object_store.hpp"
#include "object_store/shm_arena.hpp"
#include "proto/record_codec.hpp"
#include "proto/register_types.hpp"
#include "raylet/raylet.hpp"
#include "scheduler/global_scheduler.hpp"
#include "worker/actor_host.hpp"
#include "worker/executor.hpp"
#include "worker/task_context.hpp"
#include "worker/worker.hpp"

namespace cafray::detail {

std::atomic<uint64_t> generations{0};
std::atomic<runtime*> current{nullptr};

runtime& rt() {
  auto ptr = current.load(std::memory_order_acquire);
  if (!ptr)
    throw error{errc::not_initialized, "call cafray::init() first"};
  return *ptr;
}

} // namespace cafray::detail

namespace cafray {

using detail::control_timeout;
using detail::current;
using detail::generations;
using detail::rt;
using detail::runtime;

namespace {

/// Scheduler threads sleep in steps of tens of microseconds when idle; the
/// kernel's default timer slack (50 us) would stretch every step to several
/// times that and every hop through an idle thread with it.
class timer_slack_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {
    // nop
  }

  void thread_started() override {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  }

  void thread_terminates() override {
    // nop
  }
};


std::mutex lifecycle_mtx;
std::unique_ptr<runtime> current_owner;

/// A program that returns from main without calling shutdown() still
/// exits: registered by the first init, so it runs before the destructors
/// of every static that existed by then (the actor system would otherwise
/// wait forever for its actors, or outlive what it uses).
void shutdown_at_exit() {
  try {
    shutdown();
  } catch (...) {
    // Exiting anyway.
  }
}

/// How long the destruction of an owned actor system may take: it takes
/// milliseconds when nothing holds it up, and a node that waits longer to
/// exit after SIGTERM looks hung to whoever stopped it.
constexpr auto teardown_patience = std::chrono::seconds{2};

/// Destroys an owned actor system, but waits for it at most
/// `teardown_patience`. CAF 0.17.6 can wait forever in the destructor for a
/// detached actor that finished but is still referenced from memory nobody
/// will release (seen rarely on a loaded machine, in a head whose every
/// other thread had ended; CAF-NOTES pitfall 7), and for its logger while
/// any other thread that once used a scoped_actor (a user's thread that
/// called get, say) still lives. By then every actor of ours has stopped
/// and its state is gone, so the system is left behind with a message
/// instead of hanging the caller.
void release_system(std::unique_ptr<caf::actor_system> sys,
                    std::unique_ptr<caf::actor_system_config> cfg) {
  if (!sys)
    return;
  // The system's destructor waits until its logger is gone, and every
  // thread that used a scoped_actor holds the logger in a thread-local
  // (CAF_SET_LOGGER_SYS): this thread lets go of it first.
  caf::logger::set_current_actor_system(nullptr);
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread destroyer{[sys = std::move(sys), cfg = std::move(cfg),
                         done]() mutable {
    sys.reset();
    cfg.reset();
    done->set_value();
  }};
  if (finished.wait_for(teardown_patience) == std::future_status::ready) {
    destroyer.join();
    return;
  }
  destroyer.detach();
  std::fprintf(stderr,
               "cafray: the actor system did not stop within %lld s (a CAF "
               "shutdown wait); left behind\n",
               static_cast<long long>(teardown_patience.count()));
}

/// Stops what this process runs: only its own actors (a driver's raylet
/// and store belong to the head; a node's GCS and global scheduler too).
void stop(runtime& r) {
  auto& role = r.cfg.role;
  bool driver = r.remote_node && role != "worker";
  if (!role.empty() || driver)
    registry::instance().set_code_loader(nullptr);
  if (role == "node" && r.directory)
    caf::anon_send(r.directory, leave_atom_v, r.node);
  // Leases go back (their workers see the connections close).
  if (r.direct)
    r.direct->stop();
  // The store drops this process's pins once its core worker is gone.
  if (r.arena)
    r.arena->detach();
  // Nobody new connects while the actors stop (CAF 0.17's shutdown can hang
  // on a published actor, CAF-NOTES pitfall 7).
  // An actor's worker process stops the actor it hosts.
  auto hosted = role == "worker" ? r.published : caf::actor{};
  if (driver && r.published && !r.gcs.router().empty()) {
    // The endpoint this driver named for its results goes with it.
    auto key = owner_endpoint_key(r.sys->node());
    caf::scoped_actor self{*r.sys};
    self
      ->request(r.gcs.router().shard_for(key), std::chrono::seconds{1},
                delete_atom_v, static_cast<uint8_t>(gcs_table::kv), key)
      .receive([](ok_atom) {},
               [](const caf::error&) {
                 // Unreachable GCS: the row stays, and names a dead port.
               });
  }
  if (r.published)
    static_cast<void>(r.sys->middleman().unpublish(r.published, r.cfg.port));
  r.published = nullptr;
  if (r.agent)
    static_cast<void>(
      r.sys->middleman().unpublish(r.agent, r.agent_port));
  {
    caf::scoped_actor self{*r.sys};
    std::vector<caf::actor> own;
    for (auto& hdl : {caf::actor_cast<caf::actor>(r.core),
                      caf::actor_cast<caf::actor>(r.raylet),
                      caf::actor_cast<caf::actor>(r.store),
                      caf::actor_cast<caf::actor>(r.global),
                      caf::actor_cast<caf::actor>(r.directory)}) {
      if (!hdl)
        continue;
      if ((driver || role == "worker")
          && hdl != caf::actor_cast<caf::actor>(r.core))
        continue;
      if (role == "node"
          && (hdl == caf::actor_cast<caf::actor>(r.global)
              || hdl == caf::actor_cast<caf::actor>(r.directory)))
        continue;
      own.push_back(hdl);
    }
    if (r.worker)
      own.push_back(caf::actor_cast<caf::actor>(r.worker));
    if (hosted)
      own.push_back(hosted);
    if (r.agent)
      own.push_back(caf::actor_cast<caf::actor>(r.agent));
    for (auto& hdl : own)
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
    self->wait_for(own);
  }
  // No pull may outlive the store waiting for it, no transfer the arena.
  if (r.puller)
    r.puller->stop();
  if (r.transfer)
    r.transfer->stop();
  r.gcs.shutdown();
  r.core = nullptr;
  r.raylet = nullptr;
  r.store = nullptr;
  r.global = nullptr;
  r.directory = nullptr;
  r.worker = nullptr;
  r.agent = nullptr;
  // Destroying an owned system waits for the remaining actors (workers and
  // actor hosts got their exit from the raylet).
  release_system(std::move(r.own_sys), std::move(r.own_cfg));
}

/// A start that failed half-way: stop whatever it started.
void abandon(runtime& r) {
  if (!r.sys)
    return;
  if (r.waiters)
    r.waiters->close(make_error(errc::shutting_down));
  try {
    stop(r);
  } catch (...) {
    // Reporting the first failure matters more.
  }
}

void init_impl(caf::actor_system* user_sys, const runtime_config& cfg) {
  std::lock_guard<std::mutex> guard{lifecycle_mtx};
  if (current.load())
    return;
  auto r = std::make_unique<runtime>();
  r->cfg = cfg;
  r->generation = generations.fetch_add(1) + 1;
  if (r->cfg.address.empty()) {
    if (auto env = std::getenv("CAFRAY_ADDRESS"); env && *env
                                                   && r->cfg.role.empty())
      r->cfg.address = env;
  }
  if (r->cfg.role != "" && r->cfg.role != "head" && r->cfg.role != "node"
      && r->cfg.role != "worker")
    throw error{errc::invalid_config, "role '" + r->cfg.role
                                        + "': expected \"head\" or \"node\""};
  if ((r->cfg.role == "node" || r->cfg.role == "worker")
      && r->cfg.address.empty())
    throw error{errc::invalid_config,
                "a node needs the head's address (cafray.address)"};
  bool networked = !r->cfg.role.empty() || !r->cfg.address.empty();
  if (user_sys) {
    if (networked && !user_sys->has_middleman())
      throw error{errc::invalid_config,
                  "cluster mode needs the middleman: load caf::io::middleman "
                  "in the actor system's config (and call "
                  "configure_cluster_middleman)"};
    r->sys = user_sys;
  } else {
    r->own_cfg = std::make_unique<caf::actor_system_config>();
    register_types(*r->own_cfg);
    if (networked)
      configure_cluster_middleman(*r->own_cfg);
    auto threads = cfg.scheduler_threads > 0
                     ? cfg.scheduler_threads
                     : std::max(2u, std::thread::hardware_concurrency());
    r->own_cfg->set("scheduler.max-threads", static_cast<size_t>(threads));
    // "yielding" is CAF's work stealing with our own idle loop (see
    // detail::yielding_stealing); CAF knows it as "stealing".
    auto yielding = cfg.scheduler_policy == "yielding";
    r->own_cfg->set("scheduler.policy",
                    caf::atom_from_string(yielding ? "stealing"
                                                   : cfg.scheduler_policy));
    using std::chrono::microseconds;
    if (yielding) {
      detail::use_yielding_scheduler(*r->own_cfg);
      // How often a sleeping thread looks for work to steal. A cluster
      // runs many processes on the node (head or node, a worker process
      // per CPU, drivers), each with sleeping threads: stealing less
      // eagerly there keeps their idle wake-ups from eating the cores
      // that run tasks (an enqueue from outside wakes a thread anyway).
      r->own_cfg->set("work-stealing.relaxed-sleep-duration",
                      caf::timespan{networked ? microseconds{1000}
                                              : microseconds{100}});
    } else if (cfg.scheduler_policy == "stealing") {
      // Idle scheduler threads poll briefly, then sleep in short steps
      // (CAF's default relaxed sleep is 10 ms, which a blocking driver
      // would feel on every call). Longer polling was faster on an idle
      // machine but collapsed to a few hundred calls per second once other
      // processes competed for the cores; 1,000 polls held up under load.
      r->own_cfg->set("work-stealing.aggressive-poll-attempts", size_t{1000});
      r->own_cfg->set("work-stealing.moderate-sleep-duration",
                      caf::timespan{microseconds{20}});
      r->own_cfg->set("work-stealing.relaxed-sleep-duration",
                      caf::timespan{microseconds{100}});
    }
    r->own_cfg->add_thread_hook<timer_slack_hook>();
    r->own_cfg->set("logger.verbosity", caf::atom("quiet"));
    r->own_sys = std::make_unique<caf::actor_system>(*r->own_cfg);
    r->sys = r->own_sys.get();
  }
  try {
    detail::start(*r);
  } catch (...) {
    abandon(*r);
    throw;
  }
  current.store(r.get(), std::memory_order_release);
  current_owner = std::move(r);
  static bool exit_hook = std::atexit(shutdown_at_exit) == 0;
  static_cast<void>(exit_hook);
  // CAF keeps per-thread memory caches that die with the thread, before
  // atexit handlers run: when the main thread returns from main, stop the
  // runtime from one of its own thread-locals, created after those caches
  // and therefore destroyed before them.
  if (getpid() == static_cast<pid_t>(syscall(SYS_gettid))) {
    thread_local struct main_thread_guard {
      ~main_thread_guard() {
        shutdown_at_exit();
      }
    } guard;
    static_cast<void>(guard);
  }
}

} // namespace

void init(const runtime_config& cfg) {
  init_impl(nullptr, cfg);
}

void init(caf::actor_system& sys, const runtime_config& cfg) {
  init_impl(&sys, cfg);
}

bool initialized() noexcept {
  return current.load() != nullptr;
}

void shutdown() {
  std::lock_guard<std::mutex> guard{lifecycle_mtx};
  auto r = std::move(current_owner);
  current.store(nullptr, std::memory_order_release);
  if (!r)
    return;
  r->waiters->close(make_error(errc::shutting_down));
  stop(*r);
}

std::vector<error_record> error_info() {
  auto& r = rt();
  std::vector<error_record> result;
  caf::scoped_actor self{*r.sys};
  for (auto& shard : r.gcs.shards()) {
    self
      ->request(shard, control_timeout, scan_atom_v,
                static_cast<uint8_t>(gcs_table::errors), std::string{})
      .receive(
        [&](std::vector<kv_entry>& rows) {
          for (auto& row : rows)
            if (auto rec = decode_record<error_record>(row.value))
              result.emplace_back(std::move(*rec));
        },
        [&](caf::error& err) { throw_error(err); });
  }
  std::sort(result.begin(), result.end(),
            [](const error_record& x, const error_record& y) {
              return x.time_ns < y.time_ns;
            });
  return result;
}

store_stats object_store_stats() {
  auto& r = rt();
  store_stats result;
  caf::scoped_actor self{*r.sys};
  self->request(r.store, control_timeout, stats_atom_v)
    .receive([&](store_stats& x) { result = x; },
             [&](caf::error& err) { throw_error(err); });
  return result;
}


} // namespace cafray
