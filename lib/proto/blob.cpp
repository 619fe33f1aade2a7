#include "proto/blob.hpp"

#include <sys/mman.h>

namespace cafray {

namespace {

constexpr size_t huge_page = size_t{2} << 20;

size_t mapped_size(size_t bytes) {
  return (bytes + huge_page - 1) / huge_page * huge_page;
}

} // namespace

void* allocate_data(size_t bytes) {
  if (bytes < huge_page) {
    if (auto ptr = std::malloc(bytes > 0 ? bytes : 1))
      return ptr;
    throw std::bad_alloc{};
  }
  auto size = mapped_size(bytes);
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
    munmap(ptr, mapped_size(bytes));
}

} // namespace cafray
