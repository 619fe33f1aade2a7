#pragma once

#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "api/detail/runtime_access.hpp"
#include "api/errors.hpp"
#include "api/detail/signature.hpp"
#include "api/object_ref.hpp"
#include "worker/codec.hpp"
#include "worker/registry.hpp"

#define CAFRAY_PP_CAT_IMPL(a, b) a##b
#define CAFRAY_PP_CAT(a, b) CAFRAY_PP_CAT_IMPL(a, b)

namespace cafray::detail {

/// Encodes one argument for a parameter of type `P`: an object_ref<T> where
/// a `T` is expected becomes a dependency, anything else a value (large
/// values go to the object store and become dependencies too). The objects
/// a dependency names are added to `holds`: the caller keeps them until the
/// task is done.
template <class P, class A>
task_arg make_arg(ref_holds& holds, A&& a) {
  using PD = std::decay_t<P>;
  using AD = std::decay_t<A>;
  task_arg arg;
  if constexpr (is_object_ref<AD>::value && !is_object_ref<PD>::value) {
    static_assert(std::is_same_v<typename AD::value_type, PD>,
                  "object_ref<T> passed where a different type is expected");
    arg.kind = static_cast<uint8_t>(arg_kind::resolved);
    arg.ref = a.id();
    if (a.owner()) {
      a.owner()->share();
      holds.push_back(a.owner());
    }
  } else {
    static_assert(std::is_convertible_v<A&&, PD>,
                  "argument does not convert to the parameter type");
    auto bytes = encode<PD>(static_cast<PD>(std::forward<A>(a)));
    if (bytes.size() > inline_threshold()) {
      arg.kind = static_cast<uint8_t>(arg_kind::resolved);
      arg.ref = put_blob(std::move(bytes));
      holds.push_back(own(arg.ref));
    } else {
      arg.value = std::move(bytes);
    }
  }
  return arg;
}

/// Decodes arguments and calls `f`; encodes the result (void: no bytes).
template <class R, class... Ps, class F, size_t... Is>
blob invoke_decoded(F&& f, const arg_blobs& args, std::index_sequence<Is...>) {
  if (args.size() != sizeof...(Ps))
    throw std::invalid_argument("expected " + std::to_string(sizeof...(Ps))
                                + " arguments, got "
                                + std::to_string(args.size()));
  std::tuple<std::decay_t<Ps>...> values{
    decode<std::decay_t<Ps>>(args[Is])...};
  if constexpr (std::is_void_v<R>) {
    f(std::forward<Ps>(std::get<Is>(values))...);
    return blob{};
  } else {
    return encode<std::decay_t<R>>(f(std::forward<Ps>(std::get<Is>(values))...));
  }
}

/// Decodes a payload as a `T`; throws the payload's error if it failed.
template <class T>
T decode_payload(const object_payload& payload) {
  if (payload.failed())
    throw_payload_error(payload);
  return decode<T>(payload.data);
}

/// Options shared by tasks and actors.
struct call_options {
  std::map<std::string, double> resources;
  int32_t max_retries = -1;
  std::string name;
};

resource_map to_milli(const std::map<std::string, double>& resources,
                      bool default_cpu);

} // namespace cafray::detail
