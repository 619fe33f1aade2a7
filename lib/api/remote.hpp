#pragma once

#include <string>
#include <utility>

#include "api/detail/args.hpp"

namespace cafray {

namespace detail {

void remember_function_pointer(void (*f)(), const std::string& name);

/// The registered name of a function pointer, or a placeholder that no
/// worker knows (the call then fails with unknown_function at `get`).
std::string function_name(void (*f)());

/// Registers a free function under `name`; returns true (for static init).
template <class R, class... Ps>
bool register_function(const char* name, R (*f)(Ps...)) {
  function_entry entry;
  entry.name = name;
  entry.signature = signature<std::decay_t<Ps>...>::hash();
  entry.signature_text = signature<std::decay_t<Ps>...>::text();
  entry.invoke = [f](const arg_blobs& args) {
    return invoke_decoded<R, Ps...>(f, args, std::index_sequence_for<Ps...>{});
  };
  registry::instance().add_function(std::move(entry));
  remember_function_pointer(reinterpret_cast<void (*)()>(f), name);
  return true;
}

} // namespace detail

/// A remote function: call `remote(args...)` to submit a task.
template <class R, class... Ps>
class remote_function {
public:
  explicit remote_function(std::string name) : name_(std::move(name)) {
  }

  /// Resource demand in units (default {"CPU": 1}).
  remote_function& resources(std::map<std::string, double> xs) {
    opts_.resources = std::move(xs);
    return *this;
  }

  remote_function& max_retries(int32_t n) {
    opts_.max_retries = n;
    return *this;
  }

  /// A label shown in error_info and the GCS.
  remote_function& name(std::string label) {
    opts_.name = std::move(label);
    return *this;
  }

  template <class... As>
  object_ref<R> remote(As&&... xs) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "wrong number of arguments for this remote function");
    task_spec spec;
    spec.kind = static_cast<uint8_t>(task_kind::normal);
    spec.function = name_;
    spec.signature = detail::signature<std::decay_t<Ps>...>::hash();
    detail::ref_holds holds;
    spec.args = {detail::make_arg<Ps>(holds, std::forward<As>(xs))...};
    spec.resources = detail::to_milli(opts_.resources, true);
    spec.max_retries = opts_.max_retries >= 0 ? opts_.max_retries
                                              : detail::default_max_retries();
    spec.name = opts_.name;
    object_id result{detail::submit_task(std::move(spec)), 1};
    detail::hold_until_sealed(result, std::move(holds));
    return object_ref<R>{detail::own(result)};
  }

private:
  std::string name_;
  detail::call_options opts_;
};

/// The remote version of a function registered with CAFRAY_REMOTE.
template <class R, class... Ps>
remote_function<R, Ps...> task(R (*f)(Ps...)) {
  return remote_function<R, Ps...>{
    detail::function_name(reinterpret_cast<void (*)()>(f))};
}

/// A function by registered name with result type `R`; the argument types
/// of the call are checked against the registered signature by the worker.
template <class R>
class named_function {
public:
  explicit named_function(std::string name) : name_(std::move(name)) {
  }

  named_function& resources(std::map<std::string, double> xs) {
    opts_.resources = std::move(xs);
    return *this;
  }

  named_function& max_retries(int32_t n) {
    opts_.max_retries = n;
    return *this;
  }

  template <class... As>
  object_ref<R> remote(As&&... xs) const {
    task_spec spec;
    spec.function = name_;
    spec.signature = detail::signature<detail::by_name_wire_t<As>...>::hash();
    detail::ref_holds holds;
    spec.args = {detail::make_arg<detail::by_name_wire_t<As>>(
      holds, std::forward<As>(xs))...};
    spec.resources = detail::to_milli(opts_.resources, true);
    spec.max_retries = opts_.max_retries >= 0 ? opts_.max_retries
                                              : detail::default_max_retries();
    object_id result{detail::submit_task(std::move(spec)), 1};
    detail::hold_until_sealed(result, std::move(holds));
    return object_ref<R>{detail::own(result)};
  }

private:
  std::string name_;
  detail::call_options opts_;
};

template <class R>
named_function<R> task(std::string name) {
  return named_function<R>{std::move(name)};
}

} // namespace cafray

/// Registers a free function as a remote function under its own name.
#define CAFRAY_REMOTE(fn)                                                      \
  static const bool CAFRAY_PP_CAT(cafray_remote_registered_, fn)               \
    = ::cafray::detail::register_function(#fn, &fn)
