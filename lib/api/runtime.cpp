#include "api/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "api/behavior.hpp"
#include "api/core_worker.hpp"
#include "api/detail/runtime_state.hpp"
#include "api/detail/waiters.hpp"
#include "gcs/gcs_client.hpp"
#include "object_store/object_store.hpp"
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



resource_map node_resources(const runtime_config& cfg) {
  resource_map result;
  auto cpus = cfg.num_cpus > 0 ? cfg.num_cpus
                               : std::max(1u,
                                          std::thread::hardware_concurrency());
  result["CPU"] = static_cast<int64_t>(cpus) * 1000;
  for (auto& [name, amount] : cfg.resources)
    result[name] = amount * 1000;
  return result;
}

void start(runtime& r) {
  auto& sys = *r.sys;
  auto gcs = spawn_gcs(sys, r.cfg);
  if (!gcs)
    throw error{code_of(gcs.error()), render(gcs.error())};
  r.gcs = std::move(*gcs);
  auto router = r.gcs.router();
  r.node = make_random_id<node_id>();
  r.job = make_random_id<job_id>();
  r.driver = task_id{r.job.hi, r.job.lo};
  r.global = spawn_global_scheduler(sys);
  r.objects = std::make_shared<local_objects>();
  r.store = spawn_object_store(sys, r.node, router, r.cfg.inline_threshold,
                               r.objects);
  raylet_config rc;
  rc.node = r.node;
  rc.resources = node_resources(r.cfg);
  auto cpus = static_cast<uint32_t>(rc.resources["CPU"] / 1000);
  rc.num_workers = r.cfg.num_workers > 0 ? r.cfg.num_workers : cpus;
  rc.max_workers = std::max(r.cfg.max_workers, rc.num_workers);
  rc.heartbeat = std::chrono::milliseconds{r.cfg.heartbeat_interval_ms};
  rc.arena = r.objects;
  rc.lineage.max_tasks = r.cfg.gcs_lineage_max_tasks;
  rc.lineage.max_age = std::chrono::seconds{r.cfg.gcs_lineage_max_age_s};
  auto store = r.store;
  auto arena = r.objects;
  rc.factory.worker = [&sys, store, router, arena](uint32_t index,
                                                   raylet_actor raylet) {
    return spawn_worker(sys, index, std::move(raylet), store, router, arena);
  };
  rc.factory.actor_host = [&sys, store, router,
                           arena](const task_spec& spec) {
    return caf::actor_cast<caf::actor>(
      spawn_actor_host(sys, spec, store, router, arena));
  };
  rc.factory.behavior = [&sys](const task_spec& spec) {
    return spawn_registered_behavior(sys, spec);
  };
  r.raylet = spawn_raylet(sys, std::move(rc), r.store, r.global, router);
  r.waiters = std::make_shared<detail::waiter_table>();
  r.submissions = std::make_shared<detail::submit_queue>();
  r.releases = std::make_shared<detail::release_queue>();
  r.calls = std::make_shared<detail::actor_call_table>();
  r.core = spawn_core_worker(sys, r.store, r.raylet, r.waiters,
                             r.submissions, r.releases, r.calls);
  // The job and the functions this driver knows go to the GCS.
  job_record job;
  job.id = r.job;
  job.driver = "embedded driver, pid " + std::to_string(::getpid());
  job.started_ns = now_ns();
  router.put_batch(gcs_table::jobs, {kv_entry{to_key(r.driver),
                                              encode_record(job)}});
  std::vector<kv_entry> functions;
  for (auto f : registry::instance().functions()) {
    function_record rec{f->name, f->signature, f->signature_text, r.job};
    functions.push_back(kv_entry{f->name, encode_record(rec)});
  }
  router.put_batch(gcs_table::functions, std::move(functions));
}

void init_impl(caf::actor_system* user_sys, const runtime_config& cfg) {
  std::lock_guard<std::mutex> guard{lifecycle_mtx};
  if (current.load())
    return;
  auto r = std::make_unique<runtime>();
  r->cfg = cfg;
  r->generation = generations.fetch_add(1) + 1;
  if (!cfg.address.empty())
    throw error{errc::invalid_config,
                "cluster mode (address '" + cfg.address
                  + "') is not available in this build; leave the address "
                    "empty for the embedded runtime"};
  if (user_sys) {
    r->sys = user_sys;
  } else {
    r->own_cfg = std::make_unique<caf::actor_system_config>();
    register_types(*r->own_cfg);
    auto threads = cfg.scheduler_threads > 0
                     ? cfg.scheduler_threads
                     : std::max(2u, std::thread::hardware_concurrency());
    r->own_cfg->set("scheduler.max-threads", static_cast<size_t>(threads));
    r->own_cfg->set("scheduler.policy", caf::atom_from_string(
                                          cfg.scheduler_policy));
    if (cfg.scheduler_policy == "stealing") {
      // Idle scheduler threads poll briefly, then sleep in short steps
      // (CAF's default relaxed sleep is 10 ms, which a blocking driver
      // would feel on every call). Longer polling was faster on an idle
      // machine but collapsed to a few hundred calls per second once other
      // processes competed for the cores; 1,000 polls held up under load.
      using std::chrono::microseconds;
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
  start(*r);
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
  {
    caf::scoped_actor self{*r->sys};
    for (auto& hdl : {caf::actor_cast<caf::actor>(r->core),
                      caf::actor_cast<caf::actor>(r->raylet),
                      caf::actor_cast<caf::actor>(r->store),
                      caf::actor_cast<caf::actor>(r->global)})
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
    self->wait_for(r->core, r->raylet, r->store, r->global);
  }
  r->gcs.shutdown();
  r->core = nullptr;
  r->raylet = nullptr;
  r->store = nullptr;
  r->global = nullptr;
  // Destroying an owned system waits for the remaining actors (workers and
  // actor hosts got their exit from the raylet).
  r->own_sys.reset();
  r->own_cfg.reset();
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
