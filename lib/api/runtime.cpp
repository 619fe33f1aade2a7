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

namespace cafray {

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

/// Everything one running runtime owns.
struct runtime {
  runtime_config cfg;
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  gcs_client gcs;
  scheduler_actor global;
  object_store_actor store;
  raylet_actor raylet;
  core_worker_actor core;
  std::shared_ptr<detail::waiter_table> waiters;
  std::shared_ptr<detail::submit_queue> submissions;
  std::shared_ptr<detail::release_queue> releases;
  std::shared_ptr<detail::actor_call_table> calls;
  std::shared_ptr<local_objects> objects;  // sealed objects of this node
  node_id node;
  job_id job;
  task_id driver;
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> puts{0};
  uint64_t generation = 0;  // refs of older runtimes release nothing here
};

std::atomic<uint64_t> generations{0};

std::mutex lifecycle_mtx;
std::unique_ptr<runtime> current_owner;
std::atomic<runtime*> current{nullptr};

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

runtime& rt() {
  auto ptr = current.load(std::memory_order_acquire);
  if (!ptr)
    throw error{errc::not_initialized, "call cafray::init() first"};
  return *ptr;
}

constexpr auto control_timeout = std::chrono::seconds{30};

/// Tells the raylet that the worker running this thread blocks (and lends
/// its CPU) for the lifetime of the guard.
class blocking_section {
public:
  blocking_section() {
    auto ctx = current_task_context();
    if (ctx && ctx->worker != task_context::no_worker && ctx->raylet) {
      ctx_ = ctx;
      if (ctx_->on_block)
        ctx_->on_block();
      caf::anon_send(caf::actor_cast<raylet_actor>(ctx_->raylet),
                     blocked_atom_v, ctx_->worker);
    }
  }
  ~blocking_section() {
    if (ctx_) {
      if (ctx_->on_unblock)
        ctx_->on_unblock();
      caf::anon_send(caf::actor_cast<raylet_actor>(ctx_->raylet),
                     unblocked_atom_v, ctx_->worker);
    }
  }

private:
  task_context* ctx_ = nullptr;
};

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

namespace detail {

ref_state::ref_state(object_id id) noexcept
  : id_(id), generation_(generations.load(std::memory_order_relaxed)) {
}

ref_state::~ref_state() {
  if (escaped_.load(std::memory_order_relaxed))
    return;
  auto r = current.load(std::memory_order_acquire);
  if (r == nullptr || r->generation != generation_)
    return;
  if (r->releases->push(id_))
    caf::anon_send(r->core, release_atom_v);
}

std::shared_ptr<ref_state> own(const object_id& id) {
  return std::make_shared<ref_state>(id);
}

namespace {

/// Keeps a task's argument objects until its result is sealed: the raylet
/// and the worker read them until then (Ray's submitted-task references).
class arg_hold : public seal_watch {
public:
  explicit arg_hold(ref_holds holds) : holds_(std::move(holds)) {
  }

  void sealed(const object_id&) override {
    // Dropping the holds only queues releases: no call into the arena.
    std::lock_guard<std::mutex> guard{mtx_};
    holds_.clear();
  }

private:
  std::mutex mtx_;
  ref_holds holds_;
};

} // namespace

void hold_until_sealed(const object_id& result, ref_holds holds) {
  if (holds.empty())
    return;
  auto& r = rt();
  std::vector<object_id> ids{result};
  if (r.objects->contains(result))
    return;
  r.objects->watch(ids, std::make_shared<arg_hold>(std::move(holds)));
}

caf::actor_system& system() {
  return *rt().sys;
}

uint64_t inline_threshold() {
  return rt().cfg.inline_threshold;
}

int32_t default_max_retries() {
  return rt().cfg.default_max_retries;
}

object_id next_put_id() {
  auto& r = rt();
  auto ctx = current_task_context();
  auto owner = ctx ? ctx->current : r.driver;
  auto n = r.puts.fetch_add(1, std::memory_order_relaxed) + 1;
  return object_id{owner, object_id::put_flag
                            | static_cast<uint32_t>(n & 0x7fffffff)};
}

object_id put_blob(blob data) {
  auto& r = rt();
  auto id = next_put_id();
  object_payload payload;
  payload.data = std::move(data);
  // Sealed in the arena at once (readers on the node see it now); the store
  // adopts it with the next batch the core worker forwards.
  r.objects->insert(id, payload);
  if (r.releases->push_sealed(id, std::move(payload)))
    caf::anon_send(r.core, release_atom_v);
  return id;
}

void put_payload(const object_id& id, object_payload payload) {
  caf::anon_send(rt().store, put_atom_v, id, std::move(payload));
}

void stamp(task_spec& spec) {
  auto& r = rt();
  spec.job = r.job;
  if (auto ctx = current_task_context()) {
    spec.parent = ctx->current;
    spec.id = derive_task_id(ctx->current, ++ctx->submitted);
  } else {
    spec.parent = r.driver;
    spec.id = derive_task_id(
      r.driver, r.submitted.fetch_add(1, std::memory_order_relaxed) + 1);
  }
}

task_id submit_task(task_spec spec) {
  auto& r = rt();
  stamp(spec);
  auto id = spec.id;
  switch (r.submissions->push(spec)) {
    case detail::submit_queue::route::direct:
      caf::anon_send(r.raylet, submit_atom_v, std::move(spec));
      break;
    case detail::submit_queue::route::doorbell:
      caf::anon_send(r.core, submit_atom_v);
      break;
    case detail::submit_queue::route::queued:
      break;
  }
  return id;
}

std::vector<object_payload> fetch(const std::vector<object_id>& ids,
                                  caf::timespan timeout) {
  auto& r = rt();
  // Sealed objects on this node are read in place, like a Plasma client
  // maps the store's shared memory: no message, no wake-up.
  std::vector<object_payload> local;
  if (r.objects->find_all(ids, local))
    return local;
  auto [token, w] = r.waiters->open();
  if (token == 0)
    throw_error(w->err);
  // The store answers in any case (it pulls, times out or reports a lost
  // object); the arena's seals usually wake this thread first.
  auto missing = r.objects->missing(ids);
  if (missing.empty() && r.objects->find_all(ids, local)) {
    r.waiters->take(token);
    return local;
  }
  w->unsealed = missing.size();
  r.objects->watch(missing, w);
  // A driver first gives the node's producers a moment: most results are
  // sealed here within microseconds, and then the store is never asked.
  // Worker threads ask at once (and lend their CPU while they wait).
  bool sealed = false;
  if (current_task_context() == nullptr) {
    using namespace std::chrono;
    auto infinite = timeout == caf::timespan::max() || timeout.count() < 0;
    auto grace = infinite ? caf::timespan{milliseconds{2}}
                          : std::min(timeout, caf::timespan{milliseconds{2}});
    sealed = w->await_for(grace);
    if (!sealed && !infinite) {
      timeout -= grace;
      if (timeout.count() <= 0) {
        r.objects->unwatch(missing, w.get());
        r.waiters->take(token);
        throw_error(make_error(errc::timeout, "objects not ready in time"));
      }
    }
  }
  if (!sealed) {
    blocking_section blocking;
    caf::anon_send(r.core, get_atom_v, ids, timeout, token);
    w->await();
  } else {
    r.waiters->take(token);
  }
  r.objects->unwatch(missing, w.get());
  if (w->answered.load(std::memory_order_acquire)) {
    if (w->err)
      throw_error(w->err);
    return std::move(w->payloads);
  }
  if (!r.objects->find_all(ids, local))
    throw error{errc::object_lost, "an object vanished from the store"};
  return local;
}

std::vector<uint8_t> wait_ids(const std::vector<object_id>& ids,
                              uint64_t num_ready, caf::timespan timeout) {
  auto& r = rt();
  auto [token, w] = r.waiters->open();
  if (token != 0) {
    blocking_section blocking;
    caf::anon_send(r.core, wait_atom_v, ids, num_ready, timeout, token);
    w->await();
  }
  if (w->err)
    throw_error(w->err);
  return std::move(w->flags);
}

namespace {

/// Asks the raylet to start an actor (`Atom` says which kind) and returns
/// its handle; a taken name fails before anything starts.
template <class Atom>
caf::actor start_actor(Atom atom, task_spec spec) {
  auto& r = rt();
  stamp(spec);
  if (!spec.name.empty()) {
    actor_id existing;
    if (lookup_actor_name(spec.name, existing))
      throw error{errc::actor_name_taken,
                  "an actor named '" + spec.name + "' exists already"};
  }
  caf::actor result;
  caf::scoped_actor self{*r.sys};
  self->request(r.raylet, control_timeout, atom, spec)
    .receive([&](caf::actor& hdl) { result = std::move(hdl); },
             [&](caf::error& err) { throw_error(err); });
  return result;
}

} // namespace

caf::actor create_actor(task_spec spec) {
  return start_actor(create_actor_atom_v, std::move(spec));
}

caf::actor spawn_behavior(task_spec spec) {
  return start_actor(spawn_behavior_atom_v, std::move(spec));
}

object_id call_actor(const caf::actor& host, task_spec spec) {
  auto& r = rt();
  stamp(spec);
  auto id = spec.return_id();
  if (!host) {
    put_payload(id, actor_died_payload(spec.actor, id, "no such actor"));
    return id;
  }
  std::string why;
  switch (r.calls->track(spec.actor, id, why)) {
    case detail::actor_call_table::route::direct:
      // Results go to the core worker, which keeps the books.
      caf::anon_send(caf::actor_cast<actor_host_actor>(host), call_atom_v,
                     std::move(spec), caf::actor_cast<caf::actor>(r.core));
      break;
    case detail::actor_call_table::route::via_core:
      caf::anon_send(r.core, call_atom_v, host, std::move(spec));
      break;
    case detail::actor_call_table::route::dead:
      put_payload(id, actor_died_payload(spec.actor, id, why));
      break;
  }
  return id;
}

caf::actor lookup_actor(const actor_id& id) {
  auto& r = rt();
  caf::actor result;
  caf::scoped_actor self{*r.sys};
  self->request(r.raylet, control_timeout, lookup_atom_v, id)
    .receive([&](caf::actor& hdl) { result = std::move(hdl); },
             [&](caf::error& err) { throw_error(err); });
  return result;
}

bool lookup_actor_name(const std::string& name, actor_id& id) {
  auto& r = rt();
  bool found = false;
  caf::scoped_actor self{*r.sys};
  self
    ->request(r.gcs.shard_for(name), control_timeout, get_atom_v,
              static_cast<uint8_t>(gcs_table::actor_names), name)
    .receive(
      [&](std::string& key) {
        if (key.size() != 16)
          return;
        uint64_t hi = 0;
        uint64_t lo = 0;
        for (int i = 0; i < 8; ++i) {
          hi = (hi << 8) | static_cast<uint8_t>(key[i]);
          lo = (lo << 8) | static_cast<uint8_t>(key[8 + i]);
        }
        id = actor_id{hi, lo};
        found = true;
      },
      [&](caf::error&) {
        // not_found: no such name.
      });
  return found;
}

caf::actor spawn_caller() {
  auto& r = rt();
  auto core = caf::actor_cast<caf::actor>(r.core);
  return r.sys->spawn([core](caf::event_based_actor* self) -> caf::behavior {
    // Linked to the core worker, so it stops with the runtime.
    self->link_to(core);
    return {
      [=](caller_thunk& thunk) { thunk.run(self); },
    };
  });
}

void kill_actor(const caf::actor& handle) {
  if (handle)
    caf::anon_send_exit(handle, caf::exit_reason::kill);
}

} // namespace detail

} // namespace cafray
