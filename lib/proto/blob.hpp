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

/// madvise(MADV_HUGEPAGE) on the range; a hint, failures are ignored.
void advise_huge_pages(void* ptr, size_t size) noexcept;

/// Allocates byte buffers for object data. Large buffers come 2 MiB-aligned
/// and marked for transparent huge pages (a 1 GiB value then faults 512
/// times, not 262,144), and `resize` leaves new bytes uninitialized because
/// they are always overwritten right away.
template <class T>
struct data_allocator {
  using value_type = T;

  static constexpr size_t huge_page = size_t{2} << 20;

  data_allocator() = default;

  template <class U>
  data_allocator(const data_allocator<U>&) noexcept {
  }

  T* allocate(size_t n) {
    auto bytes = n * sizeof(T);
    void* ptr = nullptr;
    if (bytes >= huge_page) {
      auto rounded = (bytes + huge_page - 1) / huge_page * huge_page;
      ptr = std::aligned_alloc(huge_page, rounded);
      if (ptr)
        advise_huge_pages(ptr, rounded);
    } else {
      ptr = std::malloc(bytes > 0 ? bytes : 1);
    }
    if (!ptr)
      throw std::bad_alloc{};
    return static_cast<T*>(ptr);
  }

  void deallocate(T* ptr, size_t) noexcept {
    std::free(ptr);
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
