#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "object_store/arena_allocator.hpp"
#include "proto/blob.hpp"

namespace cafray {

/// One node's shared-memory arena: the bytes of the node's large objects,
/// mapped by every process on the node (the object store that owns it,
/// worker processes, drivers), so reading an object copies nothing.
///
/// The owner creates it with `create` and hands out `name()`; other
/// processes `attach` by that name. The arena is a memfd: its name is
/// `/proc/<owner pid>/fd/<fd>`, so it lives exactly as long as its owner
/// holds it and nothing is left behind when the owner dies, even by
/// `kill -9` (a file in /dev/shm would stay until someone removes it).
/// Mappings made before the owner is gone stay valid; new attaches fail.
///
/// Only the owner allocates (`allocate`, `free`): offsets are what travels
/// between processes, never pointers. The writer of a put copies into the
/// region it was given and hands the offset back; readers map the same
/// offset read-only.
///
/// Pages, once backed, stay backed: a freed region keeps its memory, so a
/// later object written there goes at memcpy speed, and the allocator
/// prefers such warm regions. The arena's memory use is therefore its
/// high-water mark, never more than its capacity. A fresh region is backed
/// by the owner in one call (fallocate) when it is allocated, not by one
/// page fault per 4 KiB while the writer copies; a process then maps a
/// region it has not touched yet with one `prefault`. Measured on the
/// project's 2-core VM (4 KiB pages: shmem gets no huge pages here), per
/// GB of fresh region: fallocate 1-2 GB/s, MADV_POPULATE_WRITE of backed
/// pages 1-2.4 GB/s, against 0.14-0.8 GB/s for faults during the memcpy;
/// a warm region takes the copy at memcpy speed (bench: arena_put_gigabytes).
///
/// Thread-safety: `allocate`, `free`, `region_size` and `usage` lock; the
/// rest reads state fixed at construction and may be called from any
/// thread.
class shm_arena {
public:
  /// Regions start at multiples of this.
  static constexpr size_t alignment = arena_allocator::alignment;

  /// What a process may do with the bytes.
  enum class access { read_only, read_write };

  /// Counters of the owner's allocator.
  struct usage_stats {
    uint64_t capacity = 0;
    uint64_t used = 0;          // bytes in allocated regions
    uint64_t largest_free = 0;  // the largest region allocate can return
    uint64_t backed = 0;        // bytes backed by memory (the warm part)
    size_t regions = 0;         // allocated regions
    size_t free_regions = 0;
  };

  /// Creates an arena of `capacity` bytes (rounded up to whole pages) owned
  /// by this process. With `back_on_allocate` (the default) fresh regions
  /// are backed when allocated; without, pages come by faults on first
  /// write.
  static caf::expected<std::shared_ptr<shm_arena>>
  create(uint64_t capacity, bool back_on_allocate = true);

  /// Maps the arena named `name` (from the owner's `name()`).
  static caf::expected<std::shared_ptr<shm_arena>>
  attach(const std::string& name, access mode);

  shm_arena(const shm_arena&) = delete;
  shm_arena& operator=(const shm_arena&) = delete;

  ~shm_arena();

  /// What other processes attach by.
  const std::string& name() const noexcept {
    return name_;
  }

  uint64_t capacity() const noexcept {
    return capacity_;
  }

  bool owner() const noexcept {
    return allocator_ != nullptr;
  }

  bool writable() const noexcept {
    return writable_;
  }

  /// The arena's first byte in this process (writable only if `writable`).
  char* base() const noexcept {
    return base_;
  }

  /// The byte at `offset` in this process.
  char* at(uint64_t offset) const noexcept {
    return base_ + offset;
  }

  /// Maps the pages of a range into this process now, in one call, instead
  /// of one fault per 4 KiB page at first touch: for a process about to
  /// write (or read) a large region it has not touched before. Backs the
  /// pages too if nobody did. Returns false if the range is outside the
  /// arena or the kernel refused (the memory then still works, slower).
  /// A writable mapping remembers the 2 MiB granules it mapped (nothing
  /// ever unmaps them: freed regions stay backed) and skips them next time:
  /// asking the kernel again costs about as long as copying the bytes.
  bool prefault(uint64_t offset, uint64_t size) const noexcept;

  /// Owner only: a region of at least `size` bytes, or nothing when no free
  /// region is large enough or memory for its pages is short. Never
  /// throws; the caller reports errc::object_too_large.
  std::optional<uint64_t> allocate(uint64_t size);

  /// Owner only: gives a region back; its pages stay backed. Returns false
  /// if no region starts at `offset`.
  bool free(uint64_t offset);

  /// Owner only: the (aligned) size of the region at `offset`, 0 if none.
  uint64_t region_size(uint64_t offset) const;

  usage_stats usage() const;

private:
  shm_arena() = default;

  int fd_ = -1;  // the owner's memfd; -1 in attached processes
  std::string name_;
  uint64_t capacity_ = 0;
  char* base_ = nullptr;
  bool writable_ = false;
  bool back_on_allocate_ = true;
  /// Writable mappings: 1 per granule this mapping populated.
  static constexpr uint64_t granule = uint64_t{2} << 20;
  std::unique_ptr<std::atomic<uint8_t>[]> populated_;
  mutable std::mutex mtx_;                    // guards the members below
  std::unique_ptr<arena_allocator> allocator_;  // owner only
  uint64_t backed_ = 0;  // [0, backed_) has pages
};

/// The bytes of a region as a blob that copies nothing: the blob keeps the
/// arena mapped and holds `pin` (e.g. the store's pin on the object, whose
/// release unpins it) while it or anything sharing its keepalive lives.
blob arena_blob(std::shared_ptr<const shm_arena> arena, uint64_t offset,
                uint64_t size, std::shared_ptr<const void> pin = {});

} // namespace cafray
