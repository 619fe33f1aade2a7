#include "object_store/shm_arena.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"

// What /proc shows for an arena: "/memfd:cafray-arena (deleted)".
#define CAFRAY_ARENA_MEMFD_NAME "cafray-arena"

#ifndef MFD_NOEXEC_SEAL
#  define MFD_NOEXEC_SEAL 0x0008U
#endif

namespace cafray {

namespace {

uint64_t page_size() {
  static const auto size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

uint64_t page_down(uint64_t x) {
  return x / page_size() * page_size();
}

uint64_t page_up(uint64_t x) {
  return (x + page_size() - 1) / page_size() * page_size();
}

caf::error sys_error(const std::string& what, int err) {
  return make_error(err == ENOENT ? errc::not_found : errc::runtime_error,
                    what + ": " + std::strerror(err));
}

int make_memfd() {
  // The data is never executed; newer kernels warn without a choice.
  auto fd = memfd_create(CAFRAY_ARENA_MEMFD_NAME,
                         MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create(CAFRAY_ARENA_MEMFD_NAME, MFD_CLOEXEC);
  return fd;
}

/// Whether `fd` is an arena's memfd: its /proc link names the memfd.
bool is_arena(int fd) {
  static constexpr char prefix[] = "/memfd:" CAFRAY_ARENA_MEMFD_NAME " ";
  char target[64];
  auto link = "/proc/self/fd/" + std::to_string(fd);
  auto n = readlink(link.c_str(), target, sizeof(target));
  auto len = sizeof(prefix) - 1;
  return n >= static_cast<ssize_t>(len)
         && std::memcmp(target, prefix, len) == 0;
}

} // namespace

caf::expected<std::shared_ptr<shm_arena>>
shm_arena::create(uint64_t capacity, bool back_on_allocate) {
  if (capacity == 0)
    return make_error(errc::invalid_config, "arena capacity is 0");
  auto size = page_up(capacity);
  auto fd = make_memfd();
  if (fd < 0)
    return sys_error("memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    auto err = errno;
    close(fd);
    return sys_error("ftruncate of the arena", err);
  }
  auto ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ptr == MAP_FAILED) {
    auto err = errno;
    close(fd);
    return sys_error("mmap of the arena", err);
  }
  std::shared_ptr<shm_arena> result{new shm_arena};
  result->fd_ = fd;
  result->name_ = "/proc/" + std::to_string(getpid()) + "/fd/"
                  + std::to_string(fd);
  result->capacity_ = size;
  result->base_ = static_cast<char*>(ptr);
  result->writable_ = true;
  result->populated_ = std::make_unique<std::atomic<uint8_t>[]>(
    (size + granule - 1) / granule);
  result->back_on_allocate_ = back_on_allocate;
  result->allocator_ = std::make_unique<arena_allocator>(size);
  return result;
}

caf::expected<std::shared_ptr<shm_arena>>
shm_arena::attach(const std::string& name, access mode) {
  auto writable = mode == access::read_write;
  auto fd = open(name.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0)
    return sys_error("cannot open arena " + name, errno);
  // A stale name (its owner closed the arena, the descriptor number went to
  // another file) must not map that file.
  if (!is_arena(fd)) {
    close(fd);
    return make_error(errc::not_found, name + " is not a caf-ray arena");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    auto err = errno;
    close(fd);
    return st.st_size <= 0
             ? make_error(errc::runtime_error, "arena " + name + " is empty")
             : sys_error("fstat of arena " + name, err);
  }
  auto size = static_cast<uint64_t>(st.st_size);
  auto prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  auto ptr = mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  auto err = errno;
  // The mapping holds the memory; the descriptor is not needed any more.
  close(fd);
  if (ptr == MAP_FAILED)
    return sys_error("mmap of arena " + name, err);
  std::shared_ptr<shm_arena> result{new shm_arena};
  result->name_ = name;
  result->capacity_ = size;
  result->base_ = static_cast<char*>(ptr);
  result->writable_ = writable;
  if (writable)
    result->populated_ = std::make_unique<std::atomic<uint8_t>[]>(
      (size + granule - 1) / granule);
  return result;
}

shm_arena::~shm_arena() {
  if (base_ != nullptr)
    munmap(base_, capacity_);
  if (fd_ >= 0)
    close(fd_);
}

bool shm_arena::prefault(uint64_t offset, uint64_t size) const noexcept {
  if (offset > capacity_ || size > capacity_ - offset)
    return false;
  if (size == 0)
    return true;
  auto first = page_down(offset);
  auto last = page_up(offset + size);
#ifdef MADV_POPULATE_WRITE
  auto advice = writable_ ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  auto populate = [&](uint64_t from, uint64_t to) {
    return from >= to || madvise(base_ + from, to - from, advice) == 0;
  };
  // The granules wholly inside the range that were mapped before are
  // skipped; the rest is mapped in runs and remembered.
  auto g0 = (first + granule - 1) / granule;
  auto g1 = last / granule;
  if (!populated_ || g0 >= g1)
    return populate(first, last);
  bool ok = populate(first, g0 * granule) && populate(g1 * granule, last);
  for (auto g = g0; g < g1;) {
    if (populated_[g].load(std::memory_order_relaxed) != 0) {
      ++g;
      continue;
    }
    auto end = g;
    while (end < g1 && populated_[end].load(std::memory_order_relaxed) == 0)
      ++end;
    if (populate(g * granule, end * granule))
      for (auto i = g; i < end; ++i)
        populated_[i].store(1, std::memory_order_relaxed);
    else
      ok = false;
    g = end;
  }
  return ok;
#else
  return false;
#endif
}

std::optional<uint64_t> shm_arena::allocate(uint64_t size) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!allocator_)
    return std::nullopt;
  auto offset = allocator_->allocate(size);
  if (!offset)
    return std::nullopt;
  auto end = page_up(*offset + allocator_->region_size(*offset));
  if (back_on_allocate_ && end > backed_) {
    // Backs the cold pages in one call; everything below `backed_` kept its
    // pages. Failing here means memory is short: a clean "does not fit".
    if (fallocate(fd_, 0, static_cast<off_t>(backed_),
                  static_cast<off_t>(end - backed_))
        != 0) {
      allocator_->free(*offset);
      return std::nullopt;
    }
    backed_ = end;
  }
  return offset;
}

bool shm_arena::free(uint64_t offset) {
  std::lock_guard<std::mutex> guard{mtx_};
  return allocator_ && allocator_->free(offset) > 0;
}

uint64_t shm_arena::region_size(uint64_t offset) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return allocator_ ? allocator_->region_size(offset) : 0;
}

shm_arena::usage_stats shm_arena::usage() const {
  std::lock_guard<std::mutex> guard{mtx_};
  usage_stats result;
  result.capacity = capacity_;
  if (allocator_) {
    result.used = allocator_->used();
    result.largest_free = allocator_->largest_free();
    result.backed = backed_;
    result.regions = allocator_->regions();
    result.free_regions = allocator_->free_regions();
  }
  return result;
}

blob arena_blob(std::shared_ptr<const shm_arena> arena, uint64_t offset,
                uint64_t size, std::shared_ptr<const void> pin) {
  auto data = arena->at(offset);
  struct hold {
    std::shared_ptr<const shm_arena> arena;
    std::shared_ptr<const void> pin;
  };
  auto keepalive = std::make_shared<const hold>(
    hold{std::move(arena), std::move(pin)});
  return blob{data, static_cast<size_t>(size), std::move(keepalive)};
}

} // namespace cafray
