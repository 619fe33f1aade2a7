#include "worker/worker.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/io/typed_broker.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "proto/guards.hpp"
#include "proto/tell.hpp"
#include "proto/record_codec.hpp"
#include "worker/executor.hpp"
#include "worker/executor_detail.hpp"

namespace cafray {

worker_state::~worker_state() {
  if (queue)
    queue->stop();
  if (executor.joinable())
    executor.join();
}

namespace detail {

finished_task run_one(const executor_env& env, task_context& ctx,
                      task_spec& spec, std::vector<object_payload>& resolved) {
  ctx.current = spec.id;
  ctx.submitted = 0;
  finished_task f;
  f.result = run_function(spec, resolved);
  if (f.result.failed())
    report_error(env.gcs, f.result.error);
  f.id = spec.return_id();
  // A large result of a worker process goes into the node's arena here;
  // a small one in embedded mode is published final (the store never
  // hears of it).
  f.placed = env.place && !f.result.failed() && env.place(f.id, f.result.data);
  f.final = !f.placed && env.arena && env.arena->publishes(f.result);
  if (env.arena && !f.placed && !f.final)
    f.copy = f.result;
  return f;
}

void seal(const executor_env& env, finished_task& f) {
  if (f.final)
    env.arena->publish(f.id, std::move(f.result));
  else if (env.arena && !f.placed)
    env.arena->insert(f.id, std::move(f.copy));
}

} // namespace detail

namespace {

/// Results of finished tasks not yet reported. Short tasks report in
/// batches (one message to the store and one to the raylet for many tasks);
/// a slow task, an empty queue or a blocking task flushes at once, so no
/// result waits behind other work.
class result_batch {
public:
  static constexpr size_t max_size = 16;

  void add(const task_id& task, object_id id, object_payload payload) {
    if (ids_.empty()) {
      ids_.reserve(max_size);
      payloads_.reserve(max_size);
    }
    if (done_.empty())
      done_.reserve(max_size);
    done_.push_back(task);
    ids_.push_back(id);
    payloads_.emplace_back(std::move(payload));
  }

  /// A small result that also goes straight to the core worker that owns
  /// it (Ray's inline return): its reader wakes without a round trip
  /// through the store, which still adopts it for the rest of the cluster.
  void add_owned(const caf::actor& owner, const object_id& id,
                 const object_payload& payload) {
    for (auto& g : owned_)
      if (g.owner == owner) {
        g.ids.push_back(id);
        g.payloads.push_back(payload);
        return;
      }
    owned_.push_back(owned_group{owner, {id}, {payload}});
  }

  /// A task the raylet dispatched, run: its result goes to its owner (if
  /// any) and the store unless sealed already, and the raylet hears it is
  /// done.
  void add_run(const task_queue::item& x, detail::finished_task& done) {
    if (x.owner && !done.placed)
      add_owned(x.owner, done.id, done.result);
    if (done.placed || done.final)
      add_done(x.spec.id);
    else
      add(x.spec.id, done.id, std::move(done.result));
  }

  /// A result for the store only (a leased task's: the raylet does not
  /// hear of it).
  void add_result(const object_id& id, object_payload payload) {
    ids_.push_back(id);
    payloads_.emplace_back(std::move(payload));
  }

  size_t results() const {
    return ids_.size();
  }

  /// A task whose result its worker sealed itself.
  void add_done(const task_id& task) {
    if (done_.empty())
      done_.reserve(max_size);
    done_.push_back(task);
  }

  size_t size() const {
    return done_.size();
  }

  /// Tells the raylet the batch's tasks are done (their worker is free).
  void report_done(const raylet_actor& raylet, uint32_t index) {
    if (done_.empty())
      return;
    caf::anon_send(raylet, done_atom_v, index, std::move(done_));
    done_ = {};
  }

  /// Hands the owned results to their owners.
  void report_owned() {
    for (auto& g : owned_)
      caf::anon_send(caf::actor_cast<core_worker_actor>(g.owner),
                     ready_atom_v, std::move(g.ids), std::move(g.payloads));
    owned_.clear();
  }

  /// Hands the batch's results to the store. Every one must be sealed in
  /// the arena by now: the store adopts what it finds there, and an object
  /// sealed after its adoption (and perhaps its release) would leak.
  void report_results(const object_store_actor& store) {
    if (ids_.empty())
      return;
    caf::anon_send(store, put_atom_v, std::move(ids_), std::move(payloads_));
    ids_ = {};
    payloads_ = {};
  }

  void flush(const object_store_actor& store, const raylet_actor& raylet,
             uint32_t index) {
    report_done(raylet, index);
    report_owned();
    report_results(store);
  }

private:
  struct owned_group {
    caf::actor owner;
    std::vector<object_id> ids;
    std::vector<object_payload> payloads;
  };

  std::vector<owned_group> owned_;
  std::vector<object_id> ids_;
  std::vector<object_payload> payloads_;
  std::vector<task_id> done_;
};

/// Serves lease `token` of a driver in this process (embedded mode): runs
/// the tasks the driver queues itself, and those it takes from the other
/// queues of the driver's lease group once its own runs dry, until the
/// lease ends (idle for `linger`, or ended by the raylet). Results are
/// sealed in the arena as usual; the raylet hears of none of these tasks,
/// only of the lease's end, and their lineage goes to the GCS from here.
void serve_local_lease(const detail::executor_env& env, task_context& ctx,
                       result_batch& results, uint64_t token) {
  using clock = std::chrono::steady_clock;
  constexpr auto linger = std::chrono::milliseconds{100};
  // Lineage waits at most this long for company before it goes.
  constexpr auto lineage_patience = std::chrono::milliseconds{20};
  auto& queue = *env.queue;
  lineage_writer lineage{(uint64_t{1} << 23) | env.index};
  bool recorded = false;
  auto flush_lineage = [&] {
    if (!recorded)
      return;
    recorded = false;
    auto rows = lineage.take();
    if (!rows.empty())
      env.gcs.put_batch(gcs_table::tasks, std::move(rows));
  };
  ctx.on_block = [&] {
    // What this task waits for may be among the unreported results; the
    // driver's tasks queued behind it go through the raylet instead.
    results.flush(env.store, env.raylet, env.index);
    flush_lineage();
    auto returned = queue.block();
    if (!returned.empty())
      caf::anon_send(env.raylet, submit_atom_v, std::move(returned));
  };
  auto idle_since = clock::now();
  std::vector<task_queue::item> stolen;
  size_t next_stolen = 0;
  task_queue::item x;
  for (;;) {
    if (next_stolen < stolen.size()) {
      x = std::move(stolen[next_stolen++]);
    } else {
      stolen.clear();
      next_stolen = 0;
      if (!queue.try_pop(x)) {
        // Dry: results and lineage go out before this thread waits, and a
        // sibling's queued tasks come first.
        results.flush(env.store, env.raylet, env.index);
        if (auto group = queue.group())
          stolen = group->steal_for(&queue);
        if (!stolen.empty())
          continue;
        auto waited = clock::now() - idle_since;
        auto close = waited >= linger;
        auto timeout = close ? std::chrono::microseconds{0}
                             : std::chrono::duration_cast<
                               std::chrono::microseconds>(
                               std::min<clock::duration>(linger - waited,
                                                         lineage_patience));
        auto got = queue.pop_leased(x, timeout, close);
        if (got == task_queue::lease_wait::stopped)
          return;
        if (got == task_queue::lease_wait::ended)
          break;
        if (got == task_queue::lease_wait::idle) {
          flush_lineage();
          continue;
        }
      }
    }
    if (x.lease != 0)
      continue;  // a stale lease item: nothing to run
    auto done = detail::run_one(env, ctx, x.spec, x.resolved);
    if (!x.leased) {
      // The raylet's (it gave up on this lease's answer and dispatched
      // here): reported to it as usual.
      results.add_run(x, done);
      results.report_done(env.raylet, env.index);
      results.report_owned();
      detail::seal(env, done);
      results.report_results(env.store);
      idle_since = clock::now();
      x = task_queue::item{};
      continue;
    }
    lineage.add(x.spec,
                static_cast<uint8_t>(done.result.failed() ? task_state::failed
                                                          : task_state::finished),
                env.node, now_ns());
    recorded = true;
    if (lineage.has_full_segment()) {
      auto rows = lineage.take_full();
      env.gcs.put_batch(gcs_table::tasks, std::move(rows));
    }
    if (!done.placed && !done.final)
      results.add_result(done.id, std::move(done.result));
    detail::seal(env, done);
    if (results.results() >= result_batch::max_size)
      results.report_results(env.store);
    idle_since = clock::now();
    x = task_queue::item{};
  }
  results.flush(env.store, env.raylet, env.index);
  flush_lineage();
  caf::anon_send(env.raylet, lease_atom_v, env.index, token);
}

void execute_loop(detail::executor_env env) {
  auto& queue = env.queue;
  auto& store = env.store;
  auto& raylet = env.raylet;
  auto index = env.index;
  task_context ctx;
  result_batch results;
  ctx.worker = index;
  ctx.raylet = caf::actor_cast<caf::actor>(raylet);
  auto default_on_block = [&] {
    // What this task waits for may be among the unreported results.
    results.flush(store, raylet, index);
    auto returned = queue->block();
    if (!returned.empty())
      caf::anon_send(raylet, handback_atom_v, index, std::move(returned));
  };
  ctx.on_block = default_on_block;
  ctx.on_unblock = [&] { queue->unblock(); };
  task_context_guard guard{&ctx};
  task_queue::item x;
  using clock = std::chrono::steady_clock;
  // Results wait for company at most this long (plus one task's run).
  constexpr auto slow = std::chrono::microseconds{20};
  auto stamp = clock::now();  // when the last task ended
  auto oldest = stamp;        // when the oldest unreported task began
  for (;;) {
    // Whatever is unreported goes out before this thread waits: a steal
    // may have emptied the queue behind the last task's back.
    bool last = false;
    if (!queue->try_pop(x, last)) {
      results.flush(store, raylet, index);
      if (!queue->pop(x))
        break;
      last = queue->empty();
      stamp = clock::now();
    }
    if (x.lease != 0) {
      results.flush(store, raylet, index);
      if (env.channel)
        detail::serve_lease(env, ctx, x.lease);
      else
        serve_local_lease(env, ctx, results, x.lease);
      ctx.on_block = default_on_block;
      x = task_queue::item{};
      stamp = clock::now();
      continue;
    }
    if (results.size() == 0)
      oldest = stamp;
    auto done = detail::run_one(env, ctx, x.spec, x.resolved);
    results.add_run(x, done);
    stamp = clock::now();
    auto flush = results.size() >= result_batch::max_size || last
                 || stamp - oldest > slow;
    // The raylet hears that this worker is free before the result wakes
    // its reader: the reader's next task then finds this (still spinning)
    // worker idle instead of waking another one. The store hears last,
    // once the result is sealed.
    if (flush) {
      results.report_done(raylet, index);
      results.report_owned();
    }
    detail::seal(env, done);
    if (flush)
      results.report_results(store);
    x = task_queue::item{};
  }
  results.flush(store, raylet, index);
  ctx.raylet = nullptr;
}

/// Connects this process to the process of `owner`'s node, once, if that
/// process named an endpoint in the GCS. Until then (and if it named none)
/// results to it take the route its handle came by, through the nodes.
template <class Self>
void link_owner(Self* self, const caf::actor& owner) {
  auto& st = self->state;
  auto node = owner.node();
  if (node == st.last_owner)
    return;
  st.last_owner = node;
  if (node == self->node() || st.gcs.empty()
      || !self->system().has_middleman()
      || !st.owners_linked.insert(node).second)
    return;
  auto key = owner_endpoint_key(node);
  self
    ->request(st.gcs.shard_for(key), std::chrono::seconds{10}, get_atom_v,
              static_cast<uint8_t>(gcs_table::kv), key)
    .then(
      [=](const std::string& address) {
        auto colon = address.rfind(':');
        if (colon == std::string::npos || colon == 0
            || address.size() - colon > 6)
          return;
        uint32_t port = 0;
        for (auto c : address.substr(colon + 1)) {
          if (c < '0' || c > '9')
            return;
          port = port * 10 + static_cast<uint32_t>(c - '0');
        }
        if (port == 0 || port > 65535)
          return;
        auto mm = self->system().middleman().actor_handle();
        self
          ->request(mm, std::chrono::seconds{10}, caf::connect_atom_v,
                    address.substr(0, colon), static_cast<uint16_t>(port))
          .then([](const caf::node_id&, const caf::strong_actor_ptr&,
                   const std::set<std::string>&) {},
                [](const caf::error&) {
                  // Unreachable: the route through the nodes stays.
                });
      },
      [](const caf::error&) {
        // No endpoint named: the route through the nodes stays.
      });
}

template <class Self>
worker_actor::behavior_type
worker_behavior(Self* self, uint32_t index, raylet_actor raylet,
                object_store_actor store, gcs_router gcs,
                std::shared_ptr<local_objects> arena, result_placer place,
                std::shared_ptr<channel_port> channel = nullptr,
                node_id node = {}) {
  auto& st = self->state;
  st.index = index;
  st.raylet = raylet;
  st.gcs = gcs;
  st.channel = channel;
  st.queue = std::make_shared<task_queue>();
  if (st.in_process)
    register_local_queue(raylet.address(), index, st.queue);
  detail::executor_env env;
  env.queue = st.queue;
  env.index = index;
  env.node = node;
  env.raylet = std::move(raylet);
  env.store = std::move(store);
  env.gcs = std::move(gcs);
  env.arena = std::move(arena);
  env.place = std::move(place);
  env.channel = std::move(channel);
  st.executor = std::thread{execute_loop, std::move(env)};
  install_guards(self);
  return {
    [=](execute_atom, std::vector<task_assignment>& batch) {
      auto& st = self->state;
      for (auto& a : batch)
        if (a.owner)
          link_owner(self, a.owner);
      auto refused = st.queue->push_all(batch);
      // While the running task blocks, new tasks go back to be placed anew
      // (one may be what the blocked task waits for).
      if (!refused.empty())
        tell(self, st.raylet, handback_atom_v, st.index, std::move(refused));
    },
    [=](steal_atom, uint32_t n) {
      // Answered even when nothing is left, so the raylet may ask again.
      auto& st = self->state;
      tell(self, st.raylet, handback_atom_v, st.index, st.queue->steal(n));
    },
    [=](lease_atom, uint64_t token) -> caf::result<std::string> {
      // The executor serves the lease once it is done with what it has
      // (normally nothing: the raylet leases idle workers only).
      auto& st = self->state;
      if (!st.channel && st.in_process) {
        // A driver in this process queues its tasks here itself.
        if (!st.queue->open_lease(token))
          return make_error(errc::runtime_error, "the worker is busy");
        return std::string{};
      }
      if (!st.channel)
        return make_error(errc::runtime_error, "this worker has no task "
                                               "channel to lease");
      task_queue::item x;
      x.lease = token;
      if (!st.queue->push(x))
        return make_error(errc::runtime_error, "the worker is blocked");
      return st.channel->address();
    },
    [=](lease_atom) {
      if (auto& channel = self->state.channel)
        channel->end();
      else
        self->state.queue->end_lease();
    },
  };
}

/// The worker as a broker: it runs in the middleman's I/O thread, which
/// receives its tasks, so a task arriving over TCP reaches the executor
/// without waking a scheduler thread first.
template <class... Sigs>
caf::io::typed_broker<Sigs...> broker_of(caf::typed_actor<Sigs...>*);

using worker_broker_pointer = caf::stateful_actor<
  worker_state, decltype(broker_of(static_cast<worker_actor*>(nullptr)))>*;

worker_actor::behavior_type
worker_broker(worker_broker_pointer self, uint32_t index, raylet_actor raylet,
              object_store_actor store, gcs_router gcs,
              std::shared_ptr<local_objects> arena, result_placer place,
              std::shared_ptr<channel_port> channel) {
  return worker_behavior(self, index, std::move(raylet), std::move(store),
                         std::move(gcs), std::move(arena), std::move(place),
                         std::move(channel));
}

} // namespace

std::string owner_endpoint_key(const caf::node_id& node) {
  return "owner-endpoint/" + caf::to_string(node);
}

worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, uint32_t index,
       raylet_actor raylet, object_store_actor store, gcs_router gcs,
       std::shared_ptr<local_objects> arena, result_placer place,
       node_id node) {
  // A thread of this process: a driver here may lease it directly.
  self->state.in_process = true;
  return worker_behavior(self, index, std::move(raylet), std::move(store),
                         std::move(gcs), std::move(arena), std::move(place),
                         nullptr, node);
}

worker_actor spawn_worker(caf::actor_system& sys, uint32_t index,
                          raylet_actor raylet, object_store_actor store,
                          gcs_router gcs,
                          std::shared_ptr<local_objects> arena,
                          result_placer place, bool in_io_thread,
                          std::shared_ptr<channel_port> channel,
                          node_id node) {
  if (in_io_thread && sys.has_middleman())
    return sys.middleman().spawn_broker(worker_broker, index,
                                        std::move(raylet), std::move(store),
                                        std::move(gcs), std::move(arena),
                                        std::move(place), std::move(channel));
  return sys.spawn(worker, index, std::move(raylet), std::move(store),
                   std::move(gcs), std::move(arena), std::move(place), node);
}

} // namespace cafray

namespace cafray {

caf::expected<caf::actor> spawn_registered_behavior(caf::actor_system& sys,
                                                    const task_spec& spec) {
  auto& reg = registry::instance();
  auto entry = reg.find_behavior(spec.function);
  if (!entry) {
    reg.load_code(spec.job.hi, spec.job.lo);
    entry = reg.find_behavior(spec.function);
  }
  if (!entry)
    return make_error(errc::unknown_actor_class,
                      "no behavior named '" + spec.function + "'");
  if (entry->signature != spec.signature)
    return make_error(errc::signature_mismatch,
                      "behavior '" + spec.function + "' expects ("
                        + entry->signature_text + ")");
  arg_blobs args;
  for (auto& arg : spec.args) {
    if (arg.kind != static_cast<uint8_t>(arg_kind::value))
      return make_error(errc::bad_argument,
                        "behavior arguments must be values, not refs");
    args.push_back(arg.value);
  }
  try {
    return entry->spawn(sys, args);
  } catch (const std::exception& e) {
    return make_error(errc::bad_argument,
                      "cannot decode the arguments of behavior '"
                        + spec.function + "': " + e.what());
  }
}

} // namespace cafray
