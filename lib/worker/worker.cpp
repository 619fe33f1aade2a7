#include "worker/worker.hpp"

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

worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, uint32_t index,
       raylet_actor raylet, object_store_actor store, gcs_router gcs) {
  auto& st = self->state;
  st.index = index;
  st.raylet = raylet;
  st.store = store;
  st.gcs = std::move(gcs);
  st.ctx.worker = index;
  st.ctx.raylet = caf::actor_cast<caf::actor>(raylet);
  install_guards(self);
  return {
    [=](execute_atom, task_spec& spec, std::vector<object_payload>& resolved) {
      auto& st = self->state;
      st.ctx.current = spec.id;
      st.ctx.submitted = 0;
      object_payload result;
      {
        task_context_guard guard{&st.ctx};
        result = run_function(spec, resolved);
      }
      if (result.failed())
        report_error(st.gcs, result.error);
      caf::anon_send(st.store, put_atom_v, spec.return_id(), std::move(result));
      caf::anon_send(st.raylet, done_atom_v, st.index, spec.id);
    },
  };
}

worker_actor spawn_worker(caf::actor_system& sys, uint32_t index,
                          raylet_actor raylet, object_store_actor store,
                          gcs_router gcs) {
  return sys.spawn<caf::detached>(worker, index, std::move(raylet),
                                  std::move(store), std::move(gcs));
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
