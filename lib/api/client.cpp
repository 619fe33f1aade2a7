// What the user's calls do on a running runtime: objects, tasks, actors.
// The life cycle is in runtime.cpp.

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "common/remote.hpp"
#include "api/behavior.hpp"
#include "api/detail/runtime_state.hpp"
#include "api/errors.hpp"
#include "api/runtime.hpp"
#include "proto/record_codec.hpp"
#include "worker/actor_host.hpp"
#include "worker/executor.hpp"

namespace cafray {

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
  // A process whose store is elsewhere keeps its own puts for its readers
  // only as long as the owner does (an object in the arena holds a pin).
  // A direct task's result that never left this process is no store's.
  auto stored = !(r->direct && r->direct->released(id_));
  if (r->remote_node)
    r->objects->erase(id_);
  if (stored && r->releases->push(id_))
    caf::anon_send(r->core, release_atom_v);
}

void ref_state::leave() noexcept {
  auto r = current.load(std::memory_order_acquire);
  if (r == nullptr || r->generation != generation_ || !r->direct)
    return;
  r->direct->promote(id_);
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
  if (r.remote_node) {
    // Results seal in the head's store, not here: the holds go when the
    // result is fetched (or at shutdown).
    std::lock_guard<std::mutex> guard{r.remote_holds_mtx};
    auto& slot = r.remote_holds[result];
    slot.insert(slot.end(), holds.begin(), holds.end());
    return;
  }
  std::vector<object_id> ids{result};
  if (r.objects->contains(result))
    return;
  r.objects->watch(ids, std::make_shared<arg_hold>(std::move(holds)));
}

caf::actor_system& system() {
  return *rt().sys;
}

int64_t arena_offset(const void* ptr) noexcept {
  auto r = current.load(std::memory_order_acquire);
  if (r == nullptr || !r->arena)
    return -1;
  return r->arena->offset_of(ptr);
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

namespace {

/// Whether a put of `size` bytes goes straight into the node's arena.
bool put_in_arena(const detail::runtime& r, size_t size) {
  return r.arena && r.arena->attached() && size > r.cfg.inline_threshold;
}

object_id put_into_arena(detail::runtime& r, const char* data, size_t size) {
  auto id = next_put_id();
  object_payload payload;
  payload.data = r.arena->put(id, data, size);
  // Readable here at once; the store sealed it (or will, on the message).
  r.objects->insert(id, std::move(payload));
  return id;
}

} // namespace

object_id put_raw(const char* data, size_t size) {
  auto& r = rt();
  if (!put_in_arena(r, size))
    return object_id{};
  return put_into_arena(r, data, size);
}

object_id put_blob(blob data) {
  auto& r = rt();
  if (put_in_arena(r, data.size()))
    return put_into_arena(r, data.data(), data.size());
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
  // A driver's plain task goes straight to a worker it leased.
  if (current_task_context() == nullptr) {
    if (r.direct && r.direct->submit(spec))
      return id;
    if (r.leases && r.leases->submit(spec))
      return id;
  }
  switch (r.submissions->push(spec)) {
    case detail::submit_queue::route::direct:
      if (r.remote_node) {
        // Its small result comes back to this process's core worker
        // straight from the worker that runs it.
        std::vector<task_spec> one;
        one.emplace_back(std::move(spec));
        caf::anon_send(r.raylet, submit_atom_v, std::move(one),
                       caf::actor_cast<caf::actor>(r.core));
      } else {
        caf::anon_send(r.raylet, submit_atom_v, std::move(spec));
      }
      break;
    case detail::submit_queue::route::doorbell:
      caf::anon_send(r.core, submit_atom_v);
      break;
    case detail::submit_queue::route::queued:
      break;
  }
  return id;
}

namespace {

void drop_remote_holds(detail::runtime& r, const std::vector<object_id>& ids) {
  std::vector<std::shared_ptr<void>> dropped;
  std::lock_guard<std::mutex> guard{r.remote_holds_mtx};
  if (r.remote_holds.empty())
    return;
  for (auto& id : ids) {
    auto i = r.remote_holds.find(id);
    if (i == r.remote_holds.end())
      continue;
    dropped.insert(dropped.end(), i->second.begin(), i->second.end());
    r.remote_holds.erase(i);
  }
}

} // namespace

namespace {

std::vector<object_payload> fetch_objects(detail::runtime& r,
                                          const std::vector<object_id>& ids,
                                          caf::timespan timeout) {
  // Sealed objects on this node are read in place, like a Plasma client
  // maps the store's shared memory: no message, no wake-up.
  // Whatever the caller sends next, after waiting for results, is not part
  // of a burst (a synchronous caller's next call goes straight to the host).
  r.calls->paused();
  std::vector<object_payload> local;
  if (r.objects->find_all(ids, local))
    return local;
  r.submissions->paused();
  auto [token, w] = r.waiters->open();
  if (token == 0)
    throw_error(w->err);
  // The store answers in any case (it pulls, times out or reports a lost
  // object); the arena's seals usually wake this thread first. Seals may
  // count down while the watches go in, so the count starts biased.
  constexpr size_t bias = size_t{1} << 62;
  w->unsealed.store(bias, std::memory_order_relaxed);
  auto watched = r.objects->watch_missing(ids, w);
  if (w->unsealed.fetch_sub(bias - watched, std::memory_order_acq_rel)
      == bias - watched) {
    // Sealed while the watches went in (or before).
    r.waiters->take(token);
    if (r.objects->find_all(ids, local))
      return local;
    throw error{errc::object_lost, "an object vanished from the store"};
  }
  // A driver first gives the node's producers a moment: most results are
  // sealed here within microseconds, and then the store is never asked.
  // The moment grows with the number of objects still missing (a batch of
  // a thousand results takes milliseconds to run), so a burst does not
  // end in a second, redundant request to the store. Worker threads ask at
  // once (and lend their CPU while they wait).
  // A driver of a cluster gets its tasks' small results straight from the
  // workers, and its actor calls' results from the actors: it waits the
  // same moment, and longer while results keep arriving, before it asks
  // the store (which has whatever came another way, and the errors).
  // Objects made by put exist already (in this node's store or another's):
  // nothing is on its way to this process, so the store is asked at once.
  bool sealed = false;
  bool all_put = std::all_of(ids.begin(), ids.end(),
                             [](const object_id& id) { return id.is_put(); });
  if (current_task_context() == nullptr && !all_put) {
    using namespace std::chrono;
    auto infinite = timeout == caf::timespan::max() || timeout.count() < 0;
    auto moment = caf::timespan{milliseconds{2}}
                  + caf::timespan{microseconds{5}}
                      * static_cast<int64_t>(std::min<size_t>(watched,
                                                              20000));
    auto grace = infinite ? moment : std::min(timeout, moment);
    sealed = w->await_for(grace);
    if (r.remote_node) {
      auto left = w->unsealed.load(std::memory_order_acquire);
      while (!sealed && left > 0 && left < watched
             && (infinite || timeout > grace)) {
        // Some arrived in the last moment: more are on their way.
        if (!infinite)
          timeout -= grace;
        watched = left;
        grace = infinite ? moment : std::min(timeout, moment);
        sealed = w->await_for(grace);
        left = w->unsealed.load(std::memory_order_acquire);
      }
    }
    if (!sealed && !infinite) {
      timeout -= grace;
      if (timeout.count() <= 0) {
        r.objects->unwatch(ids, w.get());
        r.waiters->take(token);
        throw_error(make_error(errc::timeout, "objects not ready in time"));
      }
    }
  }
  if (!sealed) {
    // The store answers: it must have this process's direct results.
    if (r.direct)
      r.direct->promote(ids);
    blocking_section blocking;
    caf::anon_send(r.core, get_atom_v, ids, timeout, token);
    w->await();
  } else {
    r.waiters->take(token);
  }
  // Every watch was used up if the seals woke this thread.
  if (w->unsealed.load(std::memory_order_acquire) != 0)
    r.objects->unwatch(ids, w.get());
  if (w->answered.load(std::memory_order_acquire)) {
    if (w->err)
      throw_error(w->err);
    return std::move(w->payloads);
  }
  if (!r.objects->find_all(ids, local))
    throw error{errc::object_lost, "an object vanished from the store"};
  return local;
}

} // namespace

std::vector<object_payload> fetch(const std::vector<object_id>& ids,
                                  caf::timespan timeout) {
  auto& r = rt();
  auto result = fetch_objects(r, ids, timeout);
  // The results are here (from the store, or straight from their
  // workers): their tasks' arguments may go.
  if (r.remote_node)
    drop_remote_holds(r, ids);
  return result;
}

std::vector<uint8_t> wait_ids(const std::vector<object_id>& ids,
                              uint64_t num_ready, caf::timespan timeout) {
  auto& r = rt();
  if (r.direct && current_task_context() == nullptr)
    if (auto flags = r.direct->wait_owned(ids, num_ready, timeout))
      return std::move(*flags);
  auto [token, w] = r.waiters->open();
  if (token != 0) {
    // The store answers: it must have this process's direct results.
    if (r.direct)
      r.direct->promote(ids);
    blocking_section blocking;
    caf::anon_send(r.core, wait_atom_v, ids, num_ready, timeout, token);
    w->await();
  }
  if (w->err)
    throw_error(w->err);
  return std::move(w->flags);
}

namespace {

/// The handle of an actor at `loc`. An actor in a worker process of its own
/// is reached over a direct connection to that process: the connection's
/// loss is what tells this process's monitors that the actor died.
caf::actor reach(detail::runtime& r, const actor_location& loc) {
  if (loc.address.empty())
    return loc.handle;
  auto colon = loc.address.rfind(':');
  auto host = loc.address.substr(0, colon);
  auto port = static_cast<uint16_t>(std::stoul(loc.address.substr(colon + 1)));
  auto hdl = remote_actor(*r.sys, host, port);
  if (!hdl)
    throw error{errc::actor_died, "cannot reach the actor's process at "
                                    + loc.address + ": "
                                    + r.sys->render(hdl.error())};
  return std::move(*hdl);
}

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
  actor_location loc;
  {
    caf::scoped_actor self{*r.sys};
    self->request(r.raylet, control_timeout, atom, spec)
      .receive([&](actor_location& x) { loc = std::move(x); },
               [&](caf::error& err) { throw_error(err); });
  }
  return reach(r, loc);
}

/// The actor's row in the GCS actors table, if any.
std::optional<actor_record> read_actor_record(detail::runtime& r,
                                              const actor_id& id) {
  std::optional<actor_record> result;
  auto key = to_key(task_id{id.hi, id.lo});
  caf::scoped_actor self{*r.sys};
  self
    ->request(r.gcs.shard_for(key), control_timeout, get_atom_v,
              static_cast<uint8_t>(gcs_table::actors), key)
    .receive(
      [&](std::string& value) {
        if (auto rec = decode_record<actor_record>(value))
          result = std::move(*rec);
      },
      [&](caf::error&) {
        // not_found: no such actor.
      });
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
  auto actor = spec.actor;
  std::string why;
  switch (r.calls->track(host, spec, why)) {
    case detail::actor_call_table::route::direct:
      // Results go to the core worker, which keeps the books.
      caf::anon_send(caf::actor_cast<actor_host_actor>(host), call_atom_v,
                     std::move(spec), caf::actor_cast<caf::actor>(r.core));
      break;
    case detail::actor_call_table::route::via_core:
      caf::anon_send(r.core, call_atom_v, host, std::move(spec));
      break;
    case detail::actor_call_table::route::doorbell:
      // The first call of a burst: the core worker sends the host what
      // gathered by the time it runs.
      caf::anon_send(r.core, call_atom_v, actor);
      break;
    case detail::actor_call_table::route::queued:
      break;
    case detail::actor_call_table::route::dead:
      put_payload(id, actor_died_payload(actor, id, why));
      break;
  }
  return id;
}

caf::actor lookup_actor(const actor_id& id) {
  auto& r = rt();
  actor_location loc;
  caf::error failure;
  {
    caf::scoped_actor self{*r.sys};
    self->request(r.raylet, control_timeout, lookup_atom_v, id)
      .receive([&](actor_location& x) { loc = std::move(x); },
               [&](caf::error& err) { failure = std::move(err); });
  }
  if (!failure)
    return reach(r, loc);
  // Not this node's: an actor in a worker process anywhere in the cluster
  // is found through the GCS.
  auto rec = read_actor_record(r, id);
  if (!rec || rec->address.empty()
      || rec->state != static_cast<uint8_t>(actor_state::alive))
    throw_error(failure);
  loc.node = rec->node;
  loc.address = rec->address;
  loc.pid = rec->pid;
  return reach(r, loc);
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

namespace {

/// A typed handle's caller: its requests in flight, by ID, with the actor
/// each went to.
struct caller_state {
  static inline const char* name = "cafray.caller";
  std::unordered_map<object_id, caf::actor_addr> open;
  std::unordered_set<caf::actor_addr> watched;
};

using caller_actor = caf::stateful_actor<caller_state>;

} // namespace

caf::actor spawn_caller() {
  auto& r = rt();
  auto core = caf::actor_cast<caf::actor>(r.core);
  return r.sys->spawn([core](caller_actor* self) -> caf::behavior {
    // Linked to the core worker, so it stops with the runtime.
    self->link_to(core);
    self->set_down_handler([=](caf::down_msg& msg) {
      auto& st = self->state;
      st.watched.erase(msg.source);
      auto why = make_error(errc::actor_died,
                            "the typed actor died: "
                              + self->system().render(msg.reason));
      for (auto i = st.open.begin(); i != st.open.end();) {
        if (i->second != msg.source) {
          ++i;
          continue;
        }
        put_payload(i->first, request_failure(why, "request"));
        i = st.open.erase(i);
      }
    });
    return {
      [=](caller_thunk& thunk) { thunk.run(self); },
    };
  });
}

void caller_track(caf::event_based_actor* caller, const caf::actor& target,
                  const object_id& id) {
  auto self = static_cast<caller_actor*>(caller);
  auto& st = self->state;
  if (st.watched.insert(target.address()).second)
    self->monitor(target);
  st.open.emplace(id, target.address());
}

bool caller_settle(caf::event_based_actor* caller, const object_id& id) {
  return static_cast<caller_actor*>(caller)->state.open.erase(id) > 0;
}

void kill_actor(const caf::actor& handle) {
  if (handle)
    caf::anon_send_exit(handle, caf::exit_reason::kill);
}

} // namespace detail

} // namespace cafray
