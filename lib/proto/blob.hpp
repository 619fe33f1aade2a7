#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace cafray {

/// Memory for object data. Small buffers come from malloc. Large ones are
/// mapped, marked for transparent huge pages and populated by the kernel in
/// one call: a fresh 1 GiB value then costs 512 page faults' worth of work
/// done in bulk instead of 262,144 separate faults. Freed large buffers (up
/// to 1 GiB in all) are kept and handed out again for the same size, already
/// populated.
void* allocate_data(size_t bytes);
void free_data(void* ptr, size_t bytes) noexcept;

/// Allocates object buffers with allocate_data; `resize` leaves new bytes
/// uninitialized because they are always overwritten right away.
template <class T>
struct data_allocator {
  using value_type = T;

  data_allocator() = default;

  template <class U>
  data_allocator(const data_allocator<U>&) noexcept {
  }

  T* allocate(size_t n) {
    return static_cast<T*>(allocate_data(n * sizeof(T)));
  }

  void deallocate(T* ptr, size_t n) noexcept {
    free_data(ptr, n * sizeof(T));
  }

  /// Default-initializes: no zeroing on resize.
  template <class U>
  void construct(U* ptr) noexcept(
    std::is_nothrow_default_constructible<U>::value) {
    ::new (static_cast<void*>(ptr)) U;
  }

  template <class U, class... Ts>
  void construct(U* ptr, Ts&&... xs) {
    ::new (static_cast<void*>(ptr)) U(std::forward<Ts>(xs)...);
  }

  friend bool operator==(const data_allocator&, const data_allocator&) {
    return true;
  }
  friend bool operator!=(const data_allocator&, const data_allocator&) {
    return false;
  }
};

/// Immutable bytes shared without copies inside a process. Crossing a process
/// boundary serializes the bytes; inside one, a message carries the same
/// buffer to every reader.
class blob {
public:
  using buffer = std::vector<char, data_allocator<char>>;

  blob() = default;

  explicit blob(buffer bytes)
    : data_(std::make_shared<const buffer>(std::move(bytes))) {
  }

  explicit blob(const std::vector<char>& bytes)
    : data_(std::make_shared<const buffer>(bytes.begin(), bytes.end())) {
  }

  explicit blob(std::shared_ptr<const buffer> bytes) : data_(std::move(bytes)) {
  }

  const char* data() const noexcept {
    return data_ ? data_->data() : nullptr;
  }

  size_t size() const noexcept {
    return data_ ? data_->size() : 0;
  }

  bool empty() const noexcept {
    return size() == 0;
  }

  const std::shared_ptr<const buffer>& shared() const noexcept {
    return data_;
  }

  friend bool operator==(const blob& x, const blob& y) noexcept {
    if (x.size() != y.size())
      return false;
    return x.size() == 0 || x.data_ == y.data_
           || std::equal(x.data_->begin(), x.data_->end(), y.data_->begin());
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::reads_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    static const buffer empty;
    return f(caf::meta::type_name("blob"), x.data_ ? *x.data_ : empty);
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::writes_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    auto tmp = std::make_shared<buffer>();
    auto result = f(caf::meta::type_name("blob"), *tmp);
    x.data_ = std::move(tmp);
    return result;
  }

private:
  std::shared_ptr<const buffer> data_;
};

} // namespace cafray
