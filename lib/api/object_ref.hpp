#pragma once

#include <type_traits>
#include <vector>

#include "common/ids.hpp"

namespace cafray {

/// A reference to an immutable object of type `T` that exists now or will
/// exist once the task creating it finishes. Pass it to tasks (where a `T`
/// is expected it is resolved first) or read it with `get`.
template <class T>
class object_ref {
public:
  using value_type = T;

  object_ref() = default;

  explicit object_ref(object_id id) : id_(id) {
  }

  const object_id& id() const noexcept {
    return id_;
  }

  friend bool operator==(const object_ref& x, const object_ref& y) noexcept {
    return x.id_ == y.id_;
  }
  friend bool operator!=(const object_ref& x, const object_ref& y) noexcept {
    return !(x == y);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& id_;
  }

private:
  object_id id_;
};

template <class T>
struct is_object_ref : std::false_type {};

template <class T>
struct is_object_ref<object_ref<T>> : std::true_type {};

template <class T>
constexpr bool is_object_ref_v = is_object_ref<std::decay_t<T>>::value;

/// The result of `wait`: both lists keep the input order.
template <class T>
struct wait_result {
  std::vector<object_ref<T>> ready;
  std::vector<object_ref<T>> unready;
};

} // namespace cafray
