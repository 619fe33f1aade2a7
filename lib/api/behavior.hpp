#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/infer_handle.hpp>

#include "api/detail/args.hpp"

namespace cafray {

namespace detail {

void remember_behavior_pointer(void (*f)(), const std::string& name);
std::string behavior_name(void (*f)());

/// Registers a CAF behavior function `fn(self, args...)` under a name.
template <class Ret, class Self, class... Args>
bool register_behavior(const char* name, Ret (*fn)(Self, Args...)) {
  behavior_entry entry;
  entry.name = name;
  entry.signature = signature<std::decay_t<Args>...>::hash();
  entry.signature_text = signature<std::decay_t<Args>...>::text();
  entry.spawn = [fn](caf::actor_system& sys, const arg_blobs& args) {
    caf::actor result;
    invoke_decoded<void, Args...>(
      [&](auto&&... xs) {
        result = caf::actor_cast<caf::actor>(
          sys.spawn(fn, std::forward<decltype(xs)>(xs)...));
      },
      args, std::index_sequence_for<Args...>{});
    return result;
  };
  registry::instance().add_behavior(std::move(entry));
  remember_behavior_pointer(reinterpret_cast<void (*)()>(fn), name);
  return true;
}

/// Work for the actor that issues one typed handle's requests. It carries
/// code, so it only ever travels inside the caller's own process.
struct caller_thunk {
  std::function<void(caf::event_based_actor*)> run;
};

/// Spawns an actor that runs thunks in arrival order (so requests leave in
/// call order); it stops with the runtime.
caf::actor spawn_caller();

/// A caller's request `id` to `target` is in flight. The caller watches the
/// target: when it dies (its process killed, say), the requests it had not
/// answered fail with errc::actor_died (CAF never fails a request to a
/// remote actor whose process died).
void caller_track(caf::event_based_actor* caller, const caf::actor& target,
                  const object_id& id);

/// True the first time the outcome of request `id` arrives (a request
/// failed by its target's death may still be answered later).
bool caller_settle(caf::event_based_actor* caller, const object_id& id);

/// An error payload for a failed request to a typed actor.
object_payload request_failure(const caf::error& err,
                               const std::string& what);

} // namespace detail

/// A runtime-spawned CAF typed actor. `handle()` is the plain CAF handle for
/// `request()` from CAF code; `call<R>(args...)` does the request for you
/// and returns the response as an object_ref.
template <class Handle>
class typed_handle {
public:
  typed_handle() = default;

  typed_handle(actor_id id, const Handle& handle)
    : id_(id),
      handle_(handle.address()),
      caller_(std::make_shared<caller_slot>()) {
  }

  const actor_id& id() const {
    return id_;
  }

  /// The CAF handle (invalid once the actor is dead). Only the address is
  /// kept, so a typed_handle never keeps a dead actor alive.
  Handle handle() const {
    return caf::actor_cast<Handle>(handle_);
  }

  template <class R, class... Ts>
  object_ref<R> call(Ts... xs) const {
    auto id = detail::next_put_id();
    auto target = handle();
    if (!target) {
      detail::put_payload(id, detail::request_failure(
                                make_error(errc::actor_died,
                                           "the typed actor is dead"),
                                "request"));
      return object_ref<R>{detail::own(id)};
    }
    // One caller actor per handle (shared by copies) sends the requests:
    // messages from one sender arrive in order, so calls run in call order.
    detail::caller_thunk thunk{[=](caf::event_based_actor* self) {
      detail::caller_track(self, caf::actor_cast<caf::actor>(target), id);
      self->request(target, caf::infinite, xs...)
        .then(
          [=](R& result) {
            if (!detail::caller_settle(self, id))
              return;
            object_payload payload;
            payload.data = encode<R>(result);
            detail::put_payload(id, std::move(payload));
          },
          [=](caf::error& err) {
            if (!detail::caller_settle(self, id))
              return;
            detail::put_payload(id, detail::request_failure(err, "request"));
          });
    }};
    caf::anon_send(caller(), std::move(thunk));
    return object_ref<R>{detail::own(id)};
  }

private:
  struct caller_slot {
    std::mutex mtx;
    caf::actor actor;
  };

  caf::actor caller() const {
    std::lock_guard<std::mutex> guard{caller_->mtx};
    if (!caller_->actor)
      caller_->actor = detail::spawn_caller();
    return caller_->actor;
  }

  actor_id id_;
  caf::actor_addr handle_;
  std::shared_ptr<caller_slot> caller_;
};

namespace detail {

template <class F, class... As>
auto spawn_impl(F fn, std::string name, As&&... xs) {
  using handle_type = typename caf::infer_handle_from_fun<F>::type;
  task_spec spec;
  spec.function = behavior_name(reinterpret_cast<void (*)()>(fn));
  spec.signature = signature<std::decay_t<As>...>::hash();
  spec.args = {task_arg{static_cast<uint8_t>(arg_kind::value), object_id{},
                        encode<std::decay_t<As>>(xs)}...};
  spec.actor = make_random_id<actor_id>();
  spec.name = std::move(name);
  auto id = spec.actor;
  auto handle = spawn_behavior(std::move(spec));
  return typed_handle<handle_type>{
    id, caf::actor_cast<handle_type>(std::move(handle))};
}

} // namespace detail

/// Spawns a behavior registered with CAFRAY_BEHAVIOR, with its arguments.
template <class F, class... As>
auto spawn(F fn, As&&... xs) {
  return detail::spawn_impl(fn, std::string{}, std::forward<As>(xs)...);
}

/// Like spawn, and registers the actor under a name for get_typed_actor.
template <class F, class... As>
auto spawn_named(const std::string& name, F fn, As&&... xs) {
  return detail::spawn_impl(fn, name, std::forward<As>(xs)...);
}

/// The typed actor registered under `name`, or nothing.
template <class Handle>
std::optional<typed_handle<Handle>> get_typed_actor(const std::string& name) {
  actor_id id;
  if (!detail::lookup_actor_name(name, id))
    return std::nullopt;
  try {
    return typed_handle<Handle>{id, caf::actor_cast<Handle>(
                                      detail::lookup_actor(id))};
  } catch (const error&) {
    return std::nullopt;
  }
}

/// Stops a typed actor.
template <class Handle>
void kill(const typed_handle<Handle>& handle) {
  detail::kill_actor(caf::actor_cast<caf::actor>(handle.handle()));
}

} // namespace cafray

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafray::detail::caller_thunk)

/// Registers a CAF behavior function (first parameter: the typed self
/// pointer) so the runtime can spawn it by name.
#define CAFRAY_BEHAVIOR(fn)                                                    \
  static const bool CAFRAY_PP_CAT(cafray_behavior_registered_, fn)             \
    = ::cafray::detail::register_behavior(#fn, &fn)
