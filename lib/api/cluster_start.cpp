// The start of each role: embedded or head (start_local), node, driver,
// and worker process (for tasks, or for one actor), with the helpers they
// share. The life cycle around them is in runtime.cpp.

#include "common/remote.hpp"
#include "api/detail/cluster_start.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <thread>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "api/behavior.hpp"
#include "api/core_worker.hpp"
#include "api/detail/code.hpp"
#include "cluster/connect.hpp"
#include "cluster/directory.hpp"
#include "cluster/node_agent.hpp"
#include "gcs/gcs_client.hpp"
#include "object_store/object_store.hpp"
#include "object_store/shm_arena.hpp"
#include "proto/record_codec.hpp"
#include "raylet/raylet.hpp"
#include "scheduler/global_scheduler.hpp"
#include "worker/actor_host.hpp"
#include "worker/executor.hpp"
#include "worker/process.hpp"
#include "worker/worker.hpp"

namespace cafray::detail {

namespace {

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
  auto node = r.node;
  rc.factory.worker = [&sys, store, router, arena, node](uint32_t index,
                                                         raylet_actor raylet) {
    return spawn_worker(sys, index, std::move(raylet), store, router, arena,
                        nullptr, false, nullptr, node);
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
    // Each actor gets a process of its own.
    rc.factory.actor_process = [exe, agent](const task_spec& creation) {
      auto pid = start_process(exe, {"worker", "--agent", agent, "--actor",
                                     std::to_string(creation.actor.hi) + ":"
                                       + std::to_string(creation.actor.lo)});
      if (pid < 0)
        fmt::print(stderr, "[raylet] cannot start actor process {}: {}\n",
                   exe, std::strerror(errno));
      return static_cast<int32_t>(pid);
    };
    rc.factory.stop_process = [](int32_t pid) {
      // Still our unreaped child: the pid cannot name another process.
      ::kill(pid, SIGKILL);
      reap(pid, true);
    };
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
  // A process whose node is elsewhere takes its small results straight
  // from the workers that ran them.
  r.core = spawn_core_worker(*r.sys, r.store, r.raylet, r.waiters,
                             r.submissions, r.releases, r.calls, r.arena,
                             r.objects, r.remote_node, r.direct);
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

/// An actor's worker process: fetches the actor's creation from the
/// raylet, starts the actor, publishes it on the node's host (callers
/// connect to it directly) and reports it to the raylet.
void host_actor(runtime& r, const std::string& host) {
  auto& sys = *r.sys;
  auto& text = r.cfg.worker_actor;
  auto colon = text.find(':');
  if (colon == std::string::npos)
    throw error{errc::invalid_config, "--actor '" + text + "': expected HI:LO"};
  actor_id id{std::stoull(text.substr(0, colon)),
              std::stoull(text.substr(colon + 1))};
  task_spec spec;
  {
    caf::scoped_actor self{sys};
    caf::error failure;
    self
      ->request(r.raylet, cluster_join_timeout, attach_atom_v, id,
                static_cast<int32_t>(::getpid()))
      .receive([&](task_spec& x) { spec = std::move(x); },
               [&](caf::error& err) { failure = std::move(err); });
    throw_unless(failure);
  }
  caf::actor handle;
  caf::error failure;
  if (spec.kind == static_cast<uint8_t>(task_kind::actor_create)) {
    handle = caf::actor_cast<caf::actor>(
      spawn_actor_host(sys, spec, r.store, r.gcs.router(), r.objects));
  } else if (auto spawned = spawn_registered_behavior(sys, spec)) {
    handle = std::move(*spawned);
  } else {
    failure = std::move(spawned.error());
  }
  if (handle) {
    auto port = sys.middleman().publish(handle, 0, host.c_str(), false);
    if (port) {
      r.published = handle;
      r.cfg.port = *port;
      caf::anon_send(r.raylet, register_atom_v, id, handle, *port);
      return;
    }
    failure = make_error(errc::runtime_error,
                         "cannot publish the actor on " + host + ": "
                           + sys.render(port.error()));
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  }
  caf::anon_send(r.raylet, fail_atom_v, id, failure);
  throw error{code_of(failure), render(failure)};
}

/// A worker process of a node: attaches to the node's agent, runs one
/// worker slot, and submits, puts and gets through the node.
void start_worker(runtime& r) {
  auto& sys = *r.sys;
  auto ep = parse_endpoint(r.cfg.address);
  throw_unless(ep ? caf::error{} : ep.error());
  auto agent = remote_actor<node_agent_actor>(sys, ep->host, ep->port);
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
  if (!r.cfg.worker_actor.empty()) {
    host_actor(r, node.host);
    return;
  }
  // Its results go to the node's store (and small ones to their owners):
  // no copy stays in this process, where nobody would ever release it.
  // In the I/O thread: the process exists to run what arrives over TCP.
  // Drivers lease it through its raylet and send it tasks on this channel.
  std::string why;
  auto channel = channel_port::open(node.host, why);
  if (!channel)
    std::fprintf(stderr,
                 "caf-node worker %u: no task channel on %s (%s): drivers "
                 "cannot lease it\n",
                 r.cfg.worker_index, node.host.c_str(), why.c_str());
  r.worker = spawn_worker(sys, r.cfg.worker_index, r.raylet, r.store,
                          r.gcs.router(), nullptr, std::move(place), true,
                          std::move(channel));
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
  // The driver's plain tasks go onto its workers' queues directly, unless
  // the workers are processes, or lineage compaction needs the raylet to
  // record every task.
  if (r.cfg.direct_tasks && !r.agent && r.cfg.gcs_lineage_max_tasks == 0
      && r.cfg.gcs_lineage_max_age_s == 0) {
    local_leases::config cfg;
    cfg.sys = r.sys;
    cfg.raylet = r.raylet;
    cfg.demand = resource_map{{"CPU", 1000}};
    auto cpus = node_resources(r.cfg)["CPU"] / 1000;
    cfg.max_leases = static_cast<size_t>(std::max<int64_t>(1, cpus));
    r.leases = std::make_shared<local_leases>(std::move(cfg));
  }
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

/// A driver's leases of worker processes for its plain tasks.
void start_direct_tasks(runtime& r,
                        const std::vector<member_info>& members) {
  direct_tasks::config cfg;
  cfg.sys = r.sys;
  cfg.raylets.push_back(r.raylet);
  for (auto& m : members) {
    if (m.raylet && m.raylet != r.raylet)
      cfg.raylets.push_back(m.raylet);
    // As many leases as the driver's node has CPUs: more workers than
    // that, on other nodes, only while its own are busy otherwise.
    if (m.raylet == r.raylet)
      if (auto i = m.total.find("CPU"); i != m.total.end() && i->second > 0)
        cfg.max_leases = static_cast<size_t>((i->second + 999) / 1000);
  }
  cfg.objects = r.objects;
  cfg.demand = resource_map{{"CPU", 1000}};
  auto* rp = &r;
  cfg.resubmit = [rp](task_spec spec) {
    std::vector<task_spec> one;
    one.emplace_back(std::move(spec));
    caf::anon_send(rp->raylet, submit_atom_v, std::move(one),
                   caf::actor_cast<caf::actor>(rp->core));
  };
  cfg.fail = [rp](const object_id& id, object_payload payload) {
    report_error(rp->gcs.router(), payload.error);
    rp->objects->insert(id, payload);
    caf::anon_send(rp->store, put_atom_v, id, std::move(payload));
  };
  cfg.store = [rp](const object_id& id, object_payload payload) {
    caf::anon_send(rp->store, put_atom_v, id, std::move(payload));
  };
  cfg.release = [rp](const object_id& id) {
    if (rp->releases->push(id))
      caf::anon_send(rp->core, release_atom_v);
  };
  r.direct = std::make_shared<direct_tasks>(std::move(cfg));
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
  // Before the core worker, which owns the driver's actor results with it.
  if (r.cfg.direct_tasks)
    start_direct_tasks(r, welcome.members);
  spawn_core(r);
  // The worker processes that run this driver's tasks connect here and
  // hand its small results straight to its core worker, not through the
  // node and the head (worker/worker.hpp, owner_endpoint_key).
  if (auto port = sys.middleman().publish(r.core, 0, r.cfg.host.c_str(),
                                          false)) {
    r.published = caf::actor_cast<caf::actor>(r.core);
    r.cfg.port = *port;
    r.gcs.router().put_batch(
      gcs_table::kv, {kv_entry{owner_endpoint_key(sys.node()),
                               r.cfg.host + ":" + std::to_string(*port)}});
  }
  register_job(r, "driver");
  auto code = r.cfg.code_libraries;
  for (auto& path : detail::code_from_environment())
    code.push_back(path);
  detail::ship_code(sys, r.gcs.router(), r.job, code);
}

} // namespace

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

} // namespace cafray::detail
