#include "worker/worker.hpp"

#include <chrono>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "proto/guards.hpp"
#include "proto/record_codec.hpp"
#include "worker/executor.hpp"

namespace cafray {

void report_error(const gcs_router& gcs, const error_record& err) {
  if (gcs.empty())
    return;
  // Key: time first so that a scan lists errors in the order they happened.
  std::string key;
  key.reserve(24);
  for (int i = 7; i >= 0; --i)
    key.push_back(static_cast<char>((err.time_ns >> (8 * i)) & 0xff));
  key += to_key(err.task);
  gcs.put_batch(gcs_table::errors, {kv_entry{key, encode_record(err)}});
}

bool task_queue::push(item& x) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (blocked_ || stopped_)
      return false;
    items_.emplace_back(std::move(x));
  }
  cv_.notify_one();
  return true;
}

bool task_queue::pop(item& x) {
  using clock = std::chrono::steady_clock;
  auto spin_until = clock::now() + std::chrono::microseconds{100};
  std::unique_lock<std::mutex> guard{mtx_};
  while (items_.empty() && !stopped_ && clock::now() < spin_until) {
    guard.unlock();
    std::this_thread::yield();
    guard.lock();
  }
  cv_.wait(guard, [this] { return !items_.empty() || stopped_; });
  if (stopped_)
    return false;
  x = std::move(items_.front());
  items_.pop_front();
  return true;
}

std::vector<task_spec> task_queue::block() {
  std::vector<task_spec> result;
  std::lock_guard<std::mutex> guard{mtx_};
  blocked_ = true;
  for (auto& x : items_)
    result.emplace_back(std::move(x.spec));
  items_.clear();
  return result;
}

void task_queue::unblock() {
  std::lock_guard<std::mutex> guard{mtx_};
  blocked_ = false;
}

void task_queue::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
  }
  cv_.notify_all();
}

worker_state::~worker_state() {
  if (queue)
    queue->stop();
  if (executor.joinable())
    executor.join();
}

namespace {

void execute_loop(std::shared_ptr<task_queue> queue, uint32_t index,
                  raylet_actor raylet, object_store_actor store,
                  gcs_router gcs) {
  task_context ctx;
  ctx.worker = index;
  ctx.raylet = caf::actor_cast<caf::actor>(raylet);
  ctx.on_block = [&] {
    auto returned = queue->block();
    if (!returned.empty())
      caf::anon_send(raylet, handback_atom_v, index, std::move(returned));
  };
  ctx.on_unblock = [&] { queue->unblock(); };
  task_context_guard guard{&ctx};
  task_queue::item x;
  while (queue->pop(x)) {
    ctx.current = x.spec.id;
    ctx.submitted = 0;
    auto result = run_function(x.spec, x.resolved);
    if (result.failed())
      report_error(gcs, result.error);
    caf::anon_send(store, put_atom_v, x.spec.return_id(), std::move(result));
    caf::anon_send(raylet, done_atom_v, index, x.spec.id);
    x = task_queue::item{};
  }
  ctx.raylet = nullptr;
}

} // namespace

worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, uint32_t index,
       raylet_actor raylet, object_store_actor store, gcs_router gcs) {
  auto& st = self->state;
  st.index = index;
  st.raylet = raylet;
  st.queue = std::make_shared<task_queue>();
  st.executor = std::thread{execute_loop, st.queue, index, std::move(raylet),
                            std::move(store), std::move(gcs)};
  install_guards(self);
  return {
    [=](execute_atom, task_spec& spec, std::vector<object_payload>& resolved) {
      auto& st = self->state;
      task_queue::item x{std::move(spec), std::move(resolved)};
      if (!st.queue->push(x))
        // The running task blocks: this one goes back to be placed anew
        // (it may be what the blocked task waits for).
        caf::anon_send(st.raylet, handback_atom_v, st.index,
                       std::vector<task_spec>{std::move(x.spec)});
    },
  };
}

worker_actor spawn_worker(caf::actor_system& sys, uint32_t index,
                          raylet_actor raylet, object_store_actor store,
                          gcs_router gcs) {
  return sys.spawn(worker, index, std::move(raylet), std::move(store),
                   std::move(gcs));
}

} // namespace cafray

namespace cafray {

caf::expected<caf::actor> spawn_registered_behavior(caf::actor_system& sys,
                                                    const task_spec& spec) {
  auto entry = registry::instance().find_behavior(spec.function);
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
