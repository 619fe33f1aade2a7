#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "api/object_ref.hpp"
#include "common/ids.hpp"

namespace cafray::detail {

std::string demangle_name(const char* mangled);

/// Identifies a parameter list across processes built by the same compiler:
/// a hash of the mangled type names and a readable rendering.
template <class... Ts>
struct signature {
  static uint64_t hash() {
    std::string s;
    ((s += typeid(Ts).name(), s += ';'), ...);
    return stable_hash(s);
  }

  static std::string text() {
    std::string s;
    ((s += (s.empty() ? "" : ", "), s += demangle_name(typeid(Ts).name())),
     ...);
    return s;
  }
};

/// What an argument of type `A` travels as in a call by name: refs are
/// resolved to their value type, string literals become std::string.
template <class A>
struct by_name_wire {
  using D = std::decay_t<A>;
  using type = std::conditional_t<
    std::is_same_v<D, const char*> || std::is_same_v<D, char*>, std::string,
    D>;
};

template <class T>
struct by_name_wire<object_ref<T>> {
  using type = T;
};

template <class A>
using by_name_wire_t = typename by_name_wire<std::decay_t<A>>::type;

} // namespace cafray::detail
