#include "api/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "api/behavior.hpp"
#include "api/core_worker.hpp"
#include "api/detail/code.hpp"
#include "api/detail/runtime_state.hpp"
#include "api/detail/yielding_scheduler.hpp"
#include "cluster/connect.hpp"
#include "cluster/directory.hpp"
#include "cluster/node_agent.hpp"
#include "worker/process.hpp"
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

raylet_config make_raylet_config(runtime& r) {
  auto& sys = *r.sys;
  auto router = r.gcs.router();
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
  rc.cluster = !r.cfg.role.empty();
  rc.spill_backlog = r.cfg.spill_backlog > 0 ? r.cfg.spill_backlog : 4 * cpus;
  auto store = r.store;
  auto arena = r.objects;
  rc.factory.worker = [&sys, store, router, arena](uint32_t index,
                                                   raylet_actor raylet) {
    return spawn_worker(sys, index, std::move(raylet), store, router, arena);
  };
  if (r.agent) {
    // Worker processes: started here, they attach to the node's agent and
    // register with the raylet themselves.
    rc.worker_processes = true;
    auto exe = r.cfg.worker_executable.empty() ? self_executable()
                                               : r.cfg.worker_executable;
    auto agent = "127.0.0.1:" + std::to_string(r.agent_port);
    rc.factory.worker = [exe, agent](uint32_t index, raylet_actor) {
      auto pid = start_process(exe, {"worker", "--agent", agent, "--index",
                                     std::to_string(index)});
      if (pid < 0)
        fmt::print(stderr, "[raylet] cannot start worker process {}: {}\n",
                   exe, std::strerror(errno));
      return worker_actor{};
    };
    rc.factory.reap = [](int32_t pid) { reap(pid); };
  }
  rc.factory.actor_host = [&sys, store, router,
                           arena](const task_spec& spec) {
    return caf::actor_cast<caf::actor>(
      spawn_actor_host(sys, spec, store, router, arena));
  };
  rc.factory.behavior = [&sys](const task_spec& spec) {
    return spawn_registered_behavior(sys, spec);
  };
  return rc;
}

/// The store, raylet and core worker of a node (embedded, head or node);
/// `r.gcs`, `r.global` and `r.node` are set.
void spawn_node_components(runtime& r) {
  auto& sys = *r.sys;
  auto router = r.gcs.router();
  r.objects = std::make_shared<local_objects>();
  if (!r.cfg.role.empty()) {
    // The transfer path: this node's sealed objects, read in place.
    auto arena = r.objects;
    transfer_server_config tc;
    tc.host = r.cfg.host;
    r.transfer = std::make_shared<transfer_server>(
      tc, [arena](const object_id& id) -> std::optional<transfer_source> {
        auto payload = arena->find(id);
        if (!payload || payload->failed())
          return std::nullopt;
        auto pin = std::make_shared<const object_payload>(std::move(*payload));
        return transfer_source{pin->data.data(), pin->data.size(), pin};
      });
    if (auto err = r.transfer->start())
      throw error{errc::invalid_config, "cannot open the transfer port on "
                                          + r.cfg.host + ": " + render(err)};
    r.puller = std::make_shared<transfer_client>();
  }
  std::shared_ptr<shm_arena> arena;
  if (!r.cfg.role.empty()) {
    // The node's shared-memory arena: its large objects, mapped by its
    // worker processes and by drivers on this machine.
    auto capacity = r.cfg.object_store_mb > 0 ? r.cfg.object_store_mb << 20
                                              : default_arena_capacity();
    auto created = shm_arena::create(capacity);
    if (!created)
      throw error{errc::invalid_config,
                  "cannot create the object store's arena of "
                    + std::to_string(capacity)
                    + " bytes: " + render(created.error())};
    arena = std::move(*created);
  }
  r.store = spawn_object_store(sys, r.node, router, r.cfg.inline_threshold,
                               r.objects, !r.cfg.role.empty(), r.puller,
                               std::move(arena));
  auto rc = make_raylet_config(r);
  if (r.cfg.role == "node" || r.cfg.role == "head")
    rc.address = r.cfg.host + ":" + std::to_string(r.cfg.port);
  r.raylet = spawn_raylet(sys, std::move(rc), r.store, r.global, router);
}

void spawn_core(runtime& r) {
  r.waiters = std::make_shared<detail::waiter_table>();
  r.submissions = std::make_shared<detail::submit_queue>();
  r.releases = std::make_shared<detail::release_queue>();
  r.calls = std::make_shared<detail::actor_call_table>();
  if (r.remote_node)
    r.arena = std::make_shared<detail::arena_client>(*r.sys, r.store);
  r.core = spawn_core_worker(*r.sys, r.store, r.raylet, r.waiters,
                             r.submissions, r.releases, r.calls, r.arena,
                             r.objects);
  // The core worker stands for this process in the store's pin books.
  if (r.arena)
    r.arena->attach(caf::actor_cast<caf::actor>(r.core));
}

/// The job and the functions this process knows go to the GCS.
void register_job(runtime& r, const std::string& description) {
  auto router = r.gcs.router();
  r.job = make_random_id<job_id>();
  r.driver = task_id{r.job.hi, r.job.lo};
  job_record job;
  job.id = r.job;
  job.driver = description + ", pid " + std::to_string(::getpid());
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

/// A head or node loads a job's code libraries from the GCS when one of
/// its tasks names something unknown here.
void install_code_loader(runtime& r) {
  auto sys = r.sys;
  auto router = r.gcs.router();
  registry::instance().set_code_loader(
    [sys, router](uint64_t hi, uint64_t lo) {
      return detail::load_job_code(*sys, router, job_id{hi, lo});
    });
}

void throw_unless(const caf::error& err) {
  if (err)
    throw error{code_of(err), render(err)};
}

/// Publishes a typed handle (peers check its interface) at host:port.
template <class Handle>
uint16_t listen(runtime& r, const Handle& whom) {
  auto port = r.sys->middleman().publish(whom, r.cfg.port,
                                         r.cfg.host.c_str(), false);
  if (!port)
    throw error{errc::invalid_config,
                "cannot listen on " + r.cfg.host + ":"
                  + std::to_string(r.cfg.port) + ": "
                  + r.sys->render(port.error())};
  r.published = caf::actor_cast<caf::actor>(whom);
  return *port;
}

member_info describe_self(runtime& r, bool head) {
  member_info self;
  self.id = r.node;
  self.host = r.cfg.host;
  self.port = r.cfg.port;
  self.head = head;
  self.total = node_resources(r.cfg);
  self.raylet = r.raylet;
  self.store = r.store;
  self.transfer_port = r.transfer ? r.transfer->port() : 0;
  return self;
}

/// A head or node with worker processes: the agent they attach to, on a
/// port of its own on the loopback interface.
void open_agent(runtime& r) {
  if (!r.cfg.worker_processes)
    return;
  r.agent = spawn_node_agent(*r.sys);
  auto port = r.sys->middleman().publish(r.agent, 0, "127.0.0.1", false);
  if (!port)
    throw error{errc::invalid_config, "cannot open the worker port: "
                                        + r.sys->render(port.error())};
  r.agent_port = *port;
}

/// Tells the agent how workers reach this node (the node first).
void welcome_workers(runtime& r, std::vector<member_info> members) {
  if (!r.agent)
    return;
  cluster_welcome w;
  w.gcs = r.gcs.router().shards();
  w.global = r.global;
  auto self = describe_self(r, r.cfg.role == "head");
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const member_info& m) {
                                 return m.id == self.id;
                               }),
                members.end());
  members.insert(members.begin(), std::move(self));
  w.members = std::move(members);
  caf::anon_send(r.agent, put_atom_v, std::move(w));
}

/// A worker process of a node: attaches to the node's agent, runs one
/// worker slot, and submits, puts and gets through the node.
void start_worker(runtime& r) {
  auto& sys = *r.sys;
  auto ep = parse_endpoint(r.cfg.address);
  throw_unless(ep ? caf::error{} : ep.error());
  auto agent = sys.middleman().remote_actor<node_agent_actor>(ep->host,
                                                              ep->port);
  if (!agent)
    throw error{errc::peer_unreachable,
                "cannot reach the node agent at " + r.cfg.address + ": "
                  + sys.render(agent.error())};
  cluster_welcome welcome;
  {
    caf::scoped_actor self{sys};
    caf::error failure;
    self->request(*agent, cluster_join_timeout, attach_atom_v,
                  protocol_version())
      .receive([&](cluster_welcome& w) { welcome = std::move(w); },
               [&](caf::error& err) { failure = std::move(err); });
    throw_unless(failure);
  }
  if (welcome.members.empty())
    throw error{errc::runtime_error, "the node agent named no node"};
  auto& node = welcome.members.front();
  connect_members(sys, welcome.members, node.id);
  r.gcs = gcs_client{gcs_router{welcome.gcs}};
  r.global = welcome.global;
  r.node = node.id;
  r.raylet = node.raylet;
  r.store = node.store;
  r.remote_node = true;
  r.objects = std::make_shared<local_objects>();
  spawn_core(r);
  install_code_loader(r);
  // Large results are written into the node's arena, not sent.
  result_placer place;
  if (r.arena && r.arena->attached()) {
    auto arena = r.arena;
    auto threshold = r.cfg.inline_threshold;
    place = [arena, threshold](const object_id& id, const blob& data) {
      if (data.size() <= threshold)
        return false;
      try {
        // The returned bytes go at once: their pin with them.
        arena->put(id, data.data(), data.size());
        return true;
      } catch (const std::exception&) {
        return false;  // no room: the store keeps it off the arena
      }
    };
  }
  r.worker = spawn_worker(sys, r.cfg.worker_index, r.raylet, r.store,
                          r.gcs.router(), r.objects, std::move(place));
  caf::anon_send(r.raylet, register_atom_v, r.cfg.worker_index, r.worker,
                 static_cast<int32_t>(::getpid()));
}

/// Embedded, or a head: the whole runtime in this process.
void start_local(runtime& r) {
  auto& sys = *r.sys;
  auto gcs = spawn_gcs(sys, r.cfg);
  if (!gcs)
    throw error{code_of(gcs.error()), render(gcs.error())};
  r.gcs = std::move(*gcs);
  r.node = make_random_id<node_id>();
  r.global = spawn_global_scheduler(sys);
  if (r.cfg.role == "head") {
    r.directory = spawn_cluster_directory(sys, r.gcs.router(), r.global);
    r.cfg.port = listen(r, r.directory);
    open_agent(r);
  }
  spawn_node_components(r);
  spawn_core(r);
  register_job(r, r.cfg.role == "head" ? "head node" : "embedded driver");
  if (r.cfg.role == "head") {
    install_code_loader(r);
    auto welcome = join_as(sys, r.directory, describe_self(r, true));
    throw_unless(welcome ? caf::error{} : welcome.error());
    welcome_workers(r, welcome->members);
  }
}

/// Reaches the head at `cfg.address` and takes its GCS and global
/// scheduler; returns how to reach the members.
cluster_welcome attach_head(runtime& r) {
  auto& sys = *r.sys;
  auto head = reach_head(sys, r.cfg.address);
  throw_unless(head ? caf::error{} : head.error());
  auto welcome = attach_to(sys, *head);
  throw_unless(welcome ? caf::error{} : welcome.error());
  r.directory = *head;
  r.gcs = gcs_client{gcs_router{welcome->gcs}};
  r.global = welcome->global;
  return std::move(*welcome);
}

/// A node: joins the head at `cfg.address` with a raylet and store of its
/// own, and runs the tasks the cluster places here.
void start_node(runtime& r) {
  auto& sys = *r.sys;
  auto welcome = attach_head(r);
  r.node = make_random_id<node_id>();
  open_agent(r);
  // Peers connect here: open the port before anyone learns of this node.
  spawn_node_components(r);
  r.cfg.port = listen(r, r.store);
  // The raylet's node row names the port only now.
  spawn_core(r);
  connect_members(sys, welcome.members, r.node);
  register_job(r, "node " + r.cfg.host + ":" + std::to_string(r.cfg.port));
  install_code_loader(r);
  auto joined = join_as(sys, r.directory, describe_self(r, false));
  throw_unless(joined ? caf::error{} : joined.error());
  welcome_workers(r, joined->members);
}

/// A driver of a running cluster: its tasks go to the head's raylet (and
/// from there anywhere), its objects to the head's store.
void start_driver(runtime& r) {
  auto& sys = *r.sys;
  auto welcome = attach_head(r);
  if (welcome.members.empty())
    throw error{errc::peer_unreachable, "the cluster at " + r.cfg.address
                                          + " has no live node"};
  connect_members(sys, welcome.members, node_id{});
  auto& entry = welcome.members.front();
  r.node = entry.id;
  r.raylet = entry.raylet;
  r.store = entry.store;
  r.remote_node = true;
  // The driver's own puts are readable here at once; everything else comes
  // from the head's store.
  r.objects = std::make_shared<local_objects>();
  spawn_core(r);
  register_job(r, "driver");
  auto code = r.cfg.code_libraries;
  for (auto& path : detail::code_from_environment())
    code.push_back(path);
  detail::ship_code(sys, r.gcs.router(), r.job, code);
}

void start(runtime& r) {
  auto& role = r.cfg.role;
  if (role == "node")
    start_node(r);
  else if (role == "worker")
    start_worker(r);
  else if (role == "head" || r.cfg.address.empty())
    start_local(r);
  else
    start_driver(r);
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
  // The store drops this process's pins once its core worker is gone.
  if (r.arena)
    r.arena->detach();
  // Nobody new connects while the actors stop (CAF 0.17's shutdown can hang
  // on a published actor, CAF-NOTES pitfall 7).
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
  r.own_sys.reset();
  r.own_cfg.reset();
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
      // How often a sleeping thread looks for work to steal.
      r->own_cfg->set("work-stealing.relaxed-sleep-duration",
                      caf::timespan{microseconds{100}});
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
    start(*r);
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
