#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

#include "api/detail/args.hpp"

namespace cafray {

namespace detail {

void remember_class_name(const std::type_info& type, const std::string& name);

/// The registered name of a class, or its demangled C++ name (which no
/// worker knows: calls then fail with unknown_actor_class at `get`).
std::string class_name(const std::type_info& type);

template <class C, class... Args>
bool register_class(const char* name) {
  actor_class_entry entry;
  entry.name = name;
  entry.ctor_signature = signature<Args...>::hash();
  entry.ctor_signature_text = signature<Args...>::text();
  entry.construct = [](const arg_blobs& args) -> std::shared_ptr<void> {
    std::shared_ptr<void> result;
    invoke_decoded<void, Args...>(
      [&](auto&&... xs) {
        result = std::make_shared<C>(std::forward<decltype(xs)>(xs)...);
      },
      args, std::index_sequence_for<Args...>{});
    return result;
  };
  registry::instance().add_class(std::move(entry));
  remember_class_name(typeid(C), name);
  return true;
}

template <class M>
std::string pointer_bytes(M pm) {
  return std::string(reinterpret_cast<const char*>(&pm), sizeof(pm));
}

template <class C, class R, class... Ps, class M>
bool register_method_impl(const char* class_name, const char* name, M pm) {
  method_entry entry;
  entry.name = name;
  entry.signature = signature<std::decay_t<Ps>...>::hash();
  entry.signature_text = signature<std::decay_t<Ps>...>::text();
  entry.pointer_bytes = pointer_bytes(pm);
  entry.invoke = [pm](void* self, const arg_blobs& args) {
    auto obj = static_cast<C*>(self);
    return invoke_decoded<R, Ps...>(
      [&](auto&&... xs) -> decltype(auto) {
        return (obj->*pm)(std::forward<decltype(xs)>(xs)...);
      },
      args, std::index_sequence_for<Ps...>{});
  };
  registry::instance().add_method(class_name, std::move(entry));
  return true;
}

template <class C, class R, class... Ps>
bool register_method(const char* cls, const char* name, R (C::*pm)(Ps...)) {
  return register_method_impl<C, R, Ps...>(cls, name, pm);
}

template <class C, class R, class... Ps>
bool register_method(const char* cls, const char* name,
                     R (C::*pm)(Ps...) const) {
  return register_method_impl<C, R, Ps...>(cls, name, pm);
}

/// "Class::method" for a member function pointer.
std::string method_name(const std::type_info& type, const std::string& bytes);

} // namespace detail

/// A handle to a class-based actor. Copies share one call sequence; handles
/// may be passed to tasks and other actors (they travel as the actor's ID).
template <class C>
class actor_handle {
public:
  actor_handle() = default;

  actor_handle(actor_id id, const caf::actor& host)
    : state_(std::make_shared<state>()) {
    state_->id = id;
    state_->host = host.address();
  }

  const actor_id& id() const {
    return state_->id;
  }

  /// The CAF actor hosting the instance; invalid once it is dead. Handles
  /// keep only the address, so they never keep a dead actor (or a runtime
  /// that shut down) alive.
  caf::actor host() const {
    if (!state_->host)
      state_->host = detail::lookup_actor(state_->id).address();
    return caf::actor_cast<caf::actor>(state_->host);
  }

  template <class R, class... Ps, class... As>
  object_ref<R> call(R (C::*pm)(Ps...), As&&... xs) const {
    return call_impl<R, Ps...>(detail::pointer_bytes(pm),
                               std::forward<As>(xs)...);
  }

  template <class R, class... Ps, class... As>
  object_ref<R> call(R (C::*pm)(Ps...) const, As&&... xs) const {
    return call_impl<R, Ps...>(detail::pointer_bytes(pm),
                               std::forward<As>(xs)...);
  }

  template <class Archive>
  void save(Archive& ar, unsigned) const {
    ar << state_->id;
  }

  template <class Archive>
  void load(Archive& ar, unsigned) {
    state_ = std::make_shared<state>();
    ar >> state_->id;
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    if constexpr (Archive::is_saving::value)
      save(ar, version);
    else
      load(ar, version);
  }

private:
  struct state {
    actor_id id;
    caf::actor_addr host;
    std::atomic<uint64_t> seq{0};
  };

  template <class R, class... Ps, class... As>
  object_ref<R> call_impl(const std::string& bytes, As&&... xs) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "wrong number of arguments for this method");
    task_spec spec;
    spec.kind = static_cast<uint8_t>(task_kind::actor_call);
    spec.function = detail::method_name(typeid(C), bytes);
    spec.signature = detail::signature<std::decay_t<Ps>...>::hash();
    detail::ref_holds holds;
    spec.args = {detail::make_arg<Ps>(holds, std::forward<As>(xs))...};
    spec.actor = state_->id;
    spec.seq = ++state_->seq;
    auto result = detail::call_actor(host(), std::move(spec));
    detail::hold_until_sealed(result, std::move(holds));
    return object_ref<R>{detail::own(result)};
  }

  std::shared_ptr<state> state_;
};

/// Creates a class-based actor: `actor<C>(args...).remote()`.
template <class C, class... As>
class actor_creator {
public:
  explicit actor_creator(As... xs) : args_(std::move(xs)...) {
  }

  /// Registers the actor under a name for `get_actor`.
  actor_creator& name(std::string x) {
    opts_.name = std::move(x);
    return *this;
  }

  /// Resources in units the actor holds while it lives (none by default,
  /// e.g. {{"special", 1}}); in cluster mode it runs on a node that has
  /// them free, and waits there until they are.
  actor_creator& resources(std::map<std::string, double> xs) {
    opts_.resources = std::move(xs);
    return *this;
  }

  actor_handle<C> remote() {
    task_spec spec;
    spec.kind = static_cast<uint8_t>(task_kind::actor_create);
    spec.function = detail::class_name(typeid(C));
    spec.signature = detail::signature<As...>::hash();
    // The constructor's argument objects stay for the rest of the run (an
    // actor restarted elsewhere reads them again).
    detail::ref_holds holds;
    spec.args = std::apply(
      [&holds](auto&... xs) {
        return std::vector<task_arg>{detail::make_arg<As>(holds, xs)...};
      },
      args_);
    for (auto& hold : holds)
      hold->escape();
    spec.actor = make_random_id<actor_id>();
    spec.name = opts_.name;
    spec.resources = detail::to_milli(opts_.resources, false);
    auto id = spec.actor;
    auto host = detail::create_actor(std::move(spec));
    return actor_handle<C>{id, std::move(host)};
  }

private:
  std::tuple<As...> args_;
  detail::call_options opts_;
};

template <class C, class... As>
actor_creator<C, std::decay_t<As>...> actor(As&&... xs) {
  return actor_creator<C, std::decay_t<As>...>{std::forward<As>(xs)...};
}

/// The actor registered under `name`, or nothing.
template <class C>
std::optional<actor_handle<C>> get_actor(const std::string& name) {
  actor_id id;
  if (!detail::lookup_actor_name(name, id))
    return std::nullopt;
  try {
    return actor_handle<C>{id, detail::lookup_actor(id)};
  } catch (const error&) {
    return std::nullopt;
  }
}

/// Stops an actor; later calls fail with actor_died_error at `get`.
template <class C>
void kill(const actor_handle<C>& handle) {
  detail::kill_actor(handle.host());
}

} // namespace cafray

/// Registers a class as an actor class; list the constructor's parameter
/// types after the class, e.g. CAFRAY_ACTOR(ParameterServer, std::vector<int>).
#define CAFRAY_ACTOR(cls, ...)                                                 \
  static const bool CAFRAY_PP_CAT(cafray_actor_registered_, cls)               \
    = ::cafray::detail::register_class<cls, ##__VA_ARGS__>(#cls)

/// Registers a method of an actor class.
#define CAFRAY_METHOD(cls, method)                                             \
  static const bool CAFRAY_PP_CAT(                                             \
    CAFRAY_PP_CAT(cafray_method_registered_, cls), CAFRAY_PP_CAT(_, method))   \
    = ::cafray::detail::register_method(#cls, #method, &cls::method)
