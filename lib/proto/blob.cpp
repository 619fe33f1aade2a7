#include "proto/blob.hpp"

#include <mutex>
#include <vector>

#include <sys/mman.h>

namespace cafray {

namespace {

constexpr size_t huge_page = size_t{2} << 20;

/// Freed large buffers kept for reuse, at most this many bytes: a reused
/// mapping is already populated, so writing an object into it runs at
/// memory bandwidth instead of page-fault speed.
constexpr size_t max_cached_bytes = size_t{1} << 30;

size_t mapped_size(size_t bytes) {
  return (bytes + huge_page - 1) / huge_page * huge_page;
}

class mapping_cache {
public:
  /// A cached mapping of exactly `size` bytes, or nullptr.
  void* take(size_t size) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = entries_.rbegin(); i != entries_.rend(); ++i) {
      if (i->size == size) {
        auto ptr = i->ptr;
        cached_ -= size;
        entries_.erase(std::next(i).base());
        return ptr;
      }
    }
    return nullptr;
  }

  /// Keeps a mapping; unmaps the oldest ones past the byte limit.
  void give(void* ptr, size_t size) {
    std::vector<entry> evicted;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (size > max_cached_bytes) {
        evicted.push_back(entry{ptr, size});
      } else {
        entries_.push_back(entry{ptr, size});
        cached_ += size;
        while (cached_ > max_cached_bytes) {
          evicted.push_back(entries_.front());
          cached_ -= entries_.front().size;
          entries_.erase(entries_.begin());
        }
      }
    }
    for (auto& x : evicted)
      munmap(x.ptr, x.size);
  }

private:
  struct entry {
    void* ptr;
    size_t size;
  };

  std::mutex mtx_;
  std::vector<entry> entries_;  // oldest first
  size_t cached_ = 0;
};

mapping_cache& cache() {
  // Never destroyed: buffers may be freed by static destructors.
  static auto* instance = new mapping_cache;
  return *instance;
}

} // namespace

void* allocate_data(size_t bytes) {
  if (bytes < huge_page) {
    if (auto ptr = std::malloc(bytes > 0 ? bytes : 1))
      return ptr;
    throw std::bad_alloc{};
  }
  auto size = mapped_size(bytes);
  if (auto ptr = cache().take(size))
    return ptr;
  auto ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ptr == MAP_FAILED)
    throw std::bad_alloc{};
  // Both are hints: without them the buffer still works, only slower.
#ifdef MADV_HUGEPAGE
  madvise(ptr, size, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  madvise(ptr, size, MADV_POPULATE_WRITE);
#endif
  return ptr;
}

void free_data(void* ptr, size_t bytes) noexcept {
  if (!ptr)
    return;
  if (bytes < huge_page)
    std::free(ptr);
  else
    cache().give(ptr, mapped_size(bytes));
}

} // namespace cafray
