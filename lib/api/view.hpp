#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "api/runtime.hpp"
#include "worker/codec.hpp"

namespace cafray {

/// A read-only view of an object's elements where the object store keeps
/// them: no copy, no decoding, the same cost for 1 KiB and 1 GiB. The view
/// (and every copy of it) pins the object: its bytes stay valid and
/// unchanged while the view lives, even after the last object_ref is gone.
template <class T>
class array_view {
public:
  using value_type = T;
  using size_type = size_t;
  using const_iterator = const T*;
  using iterator = const T*;

  array_view() = default;

  /// `size` elements at `data`, kept valid by `keepalive`.
  array_view(const T* data, size_t size,
             std::shared_ptr<const void> keepalive) noexcept
    : data_(data), size_(size), keepalive_(std::move(keepalive)) {
  }

  const T* data() const noexcept {
    return data_;
  }

  size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  const T* begin() const noexcept {
    return data_;
  }

  const T* end() const noexcept {
    return data_ + size_;
  }

  const T& operator[](size_t i) const noexcept {
    return data_[i];
  }

  const T& front() const noexcept {
    return data_[0];
  }

  const T& back() const noexcept {
    return data_[size_ - 1];
  }

  /// The pin: the object's bytes live as long as this (shared) pointer.
  const std::shared_ptr<const void>& keepalive() const noexcept {
    return keepalive_;
  }

private:
  const T* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> keepalive_;
};

namespace detail {

/// Views the bytes of a raw-coded array (codec.hpp: the bytes of a
/// std::vector<T> of arithmetic T are its elements, from offset 0). Holds
/// the bytes' keepalive and, if given, the owner's ref, so the store keeps
/// the object too.
template <class T>
array_view<T> view_bytes(const blob& bytes,
                         std::shared_ptr<ref_state> owner = {}) {
  if (bytes.size() % sizeof(T) != 0)
    throw std::runtime_error("value has " + std::to_string(bytes.size())
                             + " bytes, not a multiple of "
                             + std::to_string(sizeof(T)));
  auto count = bytes.size() / sizeof(T);
  std::shared_ptr<const void> keepalive = bytes.keepalive();
  if (owner) {
    struct pin {
      std::shared_ptr<const void> bytes;
      std::shared_ptr<ref_state> owner;
    };
    keepalive = std::make_shared<const pin>(
      pin{std::move(keepalive), std::move(owner)});
  }
  auto address = reinterpret_cast<uintptr_t>(bytes.data());
  if (address % alignof(T) == 0)
    return {reinterpret_cast<const T*>(bytes.data()), count,
            std::move(keepalive)};
  // Arena regions and object buffers are aligned; bytes from elsewhere may
  // not be: an aligned copy keeps the view correct.
  auto copy = std::make_shared<std::vector<T>>(count);
  std::memcpy(copy->data(), bytes.data(), bytes.size());
  return {copy->data(), count, std::move(copy)};
}

} // namespace detail

/// Blocks until the object exists and returns a view of its elements in
/// place (throws the object's error like `get`). For arrays of arithmetic
/// elements (`std::vector<double>`, `std::vector<uint8_t>`, ...): their
/// encoding is the elements' bytes, so the view is a pointer into the
/// object, in this process's memory or the node's shared-memory arena.
template <class T, class A, class Rep = int64_t, class Period = std::nano>
array_view<T> get_view(const object_ref<std::vector<T, A>>& ref,
                       std::chrono::duration<Rep, Period> timeout = forever) {
  static_assert(raw_codec<std::vector<T, A>>::value,
                "get_view needs a vector of arithmetic elements (not bool)");
  auto payloads = detail::fetch(
    {ref.id()}, std::chrono::duration_cast<caf::timespan>(timeout));
  auto& payload = payloads.front();
  if (payload.failed())
    throw_payload_error(payload);
  return detail::view_bytes<T>(payload.data, ref.owner());
}

/// Where `ptr` lies in the node's shared-memory arena, as an offset that
/// is the same in every process mapping it, or -1 when it is not in one
/// (the embedded runtime, or bytes that were copied). For checking that a
/// view reads in place.
inline int64_t arena_offset(const void* ptr) noexcept {
  return detail::arena_offset(ptr);
}

/// A view of a string object's characters.
template <class Rep = int64_t, class Period = std::nano>
array_view<char> get_view(const object_ref<std::string>& ref,
                          std::chrono::duration<Rep, Period> timeout
                          = forever) {
  auto payloads = detail::fetch(
    {ref.id()}, std::chrono::duration_cast<caf::timespan>(timeout));
  auto& payload = payloads.front();
  if (payload.failed())
    throw_payload_error(payload);
  return detail::view_bytes<char>(payload.data, ref.owner());
}

} // namespace cafray
