#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "common/ids.hpp"

namespace cafray {

namespace detail {

/// The owner's hold on an object it created (by `put`, a task or an actor
/// call). Copies of a ref share one state; when the last copy goes away the
/// object is released in the store, unless the ref escaped: serialized into
/// a value or passed as a ref-typed argument, it may be read by others the
/// owner cannot track, so it stays for the rest of the run.
class ref_state {
public:
  explicit ref_state(object_id id) noexcept;

  ref_state(const ref_state&) = delete;
  ref_state& operator=(const ref_state&) = delete;

  ~ref_state();

  const object_id& id() const noexcept {
    return id_;
  }

  /// The object leaves this process's sight (serialized into a value, or
  /// an argument of a task or call): it must be in the store.
  void escape() noexcept {
    if (!escaped_.exchange(true, std::memory_order_relaxed))
      leave();
  }

  /// The object is read outside this process (an argument that names it):
  /// it must be in the store, though the ref still releases it.
  void share() noexcept {
    leave();
  }

private:
  /// Puts a result only this process holds (a direct task's) into the
  /// store.
  void leave() noexcept;

  object_id id_;
  uint64_t generation_;  // the runtime that created it
  std::atomic<bool> escaped_{false};
};

/// Holds of submitted tasks on their argument objects.
using ref_holds = std::vector<std::shared_ptr<ref_state>>;

} // namespace detail

/// A reference to an immutable object of type `T` that exists now or will
/// exist once the task creating it finishes. Pass it to tasks (where a `T`
/// is expected it is resolved first) or read it with `get`.
template <class T>
class object_ref {
public:
  using value_type = T;

  object_ref() = default;

  /// A borrowed ref: reading it works, dropping it releases nothing.
  explicit object_ref(object_id id) : id_(id) {
  }

  /// An owned ref (made by the runtime).
  explicit object_ref(std::shared_ptr<detail::ref_state> owner)
    : id_(owner->id()), owner_(std::move(owner)) {
  }

  const object_id& id() const noexcept {
    return id_;
  }

  /// The owner's hold, empty for borrowed refs.
  const std::shared_ptr<detail::ref_state>& owner() const noexcept {
    return owner_;
  }

  friend bool operator==(const object_ref& x, const object_ref& y) noexcept {
    return x.id_ == y.id_;
  }
  friend bool operator!=(const object_ref& x, const object_ref& y) noexcept {
    return !(x == y);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    if constexpr (Archive::is_saving::value) {
      if (owner_)
        owner_->escape();
    }
    ar& id_;
  }

private:
  object_id id_;
  std::shared_ptr<detail::ref_state> owner_;
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
