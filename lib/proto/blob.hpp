#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <memory>
#include <string>
#include <vector>

#include <caf/detail/type_traits.hpp>
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

/// What serializing a blob hands to CAF: its bytes as one contiguous
/// block (written with a single `apply_raw`, like `std::vector<char>`).
struct blob_bytes {
  char* first;
  size_t count;

  char* begin() const noexcept {
    return first;
  }
  char* end() const noexcept {
    return first + count;
  }
  size_t size() const noexcept {
    return count;
  }
  char& operator[](size_t i) const noexcept {
    return first[i];
  }
};

/// Immutable bytes shared without copies inside a process. Crossing a process
/// boundary serializes the bytes; inside one, a message carries the same
/// buffer to every reader.
///
/// A blob either owns its bytes (a `buffer`) or refers to bytes it does not
/// own, e.g. an object in a shared-memory arena: then the keepalive is the
/// pin that keeps those bytes valid and unchanged while any copy of the blob,
/// or anything that shares its keepalive (a typed view), lives.
class blob {
public:
  using buffer = std::vector<char, data_allocator<char>>;

  blob() = default;

  explicit blob(buffer bytes) {
    adopt(std::make_shared<const buffer>(std::move(bytes)));
  }

  explicit blob(const std::vector<char>& bytes) {
    adopt(std::make_shared<const buffer>(bytes.begin(), bytes.end()));
  }

  explicit blob(std::shared_ptr<const buffer> bytes) {
    adopt(std::move(bytes));
  }

  /// Refers to `size` bytes at `data` without copying them; `keepalive`
  /// keeps them valid and unchanged for as long as it lives.
  blob(const char* data, size_t size,
       std::shared_ptr<const void> keepalive) noexcept
    : data_(data), size_(size), keepalive_(std::move(keepalive)) {
  }

  const char* data() const noexcept {
    return data_;
  }

  size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// What keeps the bytes alive (owned buffer or pin); share it to hold the
  /// bytes beyond this blob.
  const std::shared_ptr<const void>& keepalive() const noexcept {
    return keepalive_;
  }

  friend bool operator==(const blob& x, const blob& y) noexcept {
    if (x.size_ != y.size_)
      return false;
    return x.size_ == 0 || x.data_ == y.data_
           || std::equal(x.data_, x.data_ + x.size_, y.data_);
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::reads_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    // The serializer only reads through this pointer.
    blob_bytes bytes{const_cast<char*>(x.data_), x.size_};
    return f(caf::meta::type_name("blob"), bytes);
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::writes_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    auto tmp = std::make_shared<buffer>();
    auto result = f(caf::meta::type_name("blob"), *tmp);
    x.adopt(std::move(tmp));
    return result;
  }

private:
  void adopt(std::shared_ptr<const buffer> bytes) noexcept {
    if (bytes) {
      data_ = bytes->data();
      size_ = bytes->size();
    } else {
      data_ = nullptr;
      size_ = 0;
    }
    keepalive_ = std::move(bytes);
  }

  const char* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> keepalive_;
};

} // namespace cafray

namespace caf::detail {

// Both travel as one block (begin_sequence + apply_raw), byte for byte what
// CAF writes for a std::vector<char>, instead of one call per byte.
template <>
struct is_byte_sequence<cafray::blob::buffer> : std::true_type {};

template <>
struct is_byte_sequence<cafray::blob_bytes> : std::true_type {};

} // namespace caf::detail
