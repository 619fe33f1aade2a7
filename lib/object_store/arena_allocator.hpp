#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

namespace cafray {

/// Hands out regions of an arena by offset: best fit over a free list that
/// coalesces neighbours, every region 64-byte aligned. Pure bookkeeping (no
/// memory, no system calls), so its exact behaviour is unit-tested.
///
/// Memory that was handed out once is "warm": its pages are backed and
/// mapped already, so writing into it again runs at memcpy speed. All warm
/// memory lies below `high_water()`, and the allocator prefers a warm region
/// over the cold part of the arena whenever one fits. Above the high-water
/// mark the arena is one free region (the tail), taken from its start.
///
/// Not thread-safe: one owner calls it (shm_arena locks around it).
class arena_allocator {
public:
  static constexpr uint64_t alignment = 64;

  /// An arena of `capacity` bytes, rounded down to the alignment.
  explicit arena_allocator(uint64_t capacity);

  /// The offset of a region of `size` bytes (rounded up to the alignment; 0
  /// counts as one unit), or nothing when no free region is that large.
  std::optional<uint64_t> allocate(uint64_t size);

  /// Gives back the region starting at `offset`; returns its (rounded) size,
  /// or 0 if no region starts there.
  uint64_t free(uint64_t offset);

  /// The rounded size of the region at `offset`, 0 if none starts there.
  uint64_t region_size(uint64_t offset) const;

  uint64_t capacity() const noexcept {
    return capacity_;
  }

  /// Bytes in allocated regions (rounded sizes).
  uint64_t used() const noexcept {
    return used_;
  }

  uint64_t available() const noexcept {
    return capacity_ - used_;
  }

  /// The largest region `allocate` could hand out now.
  uint64_t largest_free() const noexcept;

  /// Allocated regions.
  size_t regions() const noexcept {
    return used_regions_.size();
  }

  /// Free regions (1 for an empty arena: fragmentation shows as more).
  size_t free_regions() const noexcept {
    return free_by_offset_.size();
  }

  /// The end of the highest byte ever handed out.
  uint64_t high_water() const noexcept {
    return high_water_;
  }

  /// Rounds `size` up to the alignment (0 becomes one unit).
  static uint64_t round_up(uint64_t size) noexcept;

private:
  void insert_free(uint64_t offset, uint64_t size);

  uint64_t capacity_;
  uint64_t used_ = 0;
  uint64_t high_water_ = 0;
  std::map<uint64_t, uint64_t> free_by_offset_;      // offset -> size
  std::set<std::pair<uint64_t, uint64_t>> free_by_size_;  // (size, offset)
  std::unordered_map<uint64_t, uint64_t> used_regions_;   // offset -> size
};

} // namespace cafray
