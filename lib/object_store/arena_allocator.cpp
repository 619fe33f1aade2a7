#include "object_store/arena_allocator.hpp"

#include <iterator>
#include <limits>

namespace cafray {

arena_allocator::arena_allocator(uint64_t capacity)
  : capacity_(capacity / alignment * alignment) {
  if (capacity_ > 0)
    insert_free(0, capacity_);
}

uint64_t arena_allocator::round_up(uint64_t size) noexcept {
  if (size == 0)
    return alignment;
  if (size > std::numeric_limits<uint64_t>::max() - alignment)
    return 0; // never fits; allocate rejects it
  return (size + alignment - 1) / alignment * alignment;
}

std::optional<uint64_t> arena_allocator::allocate(uint64_t size) {
  auto need = round_up(size);
  if (need == 0 || need > capacity_)
    return std::nullopt;
  // Best fit: the smallest free region that holds `need`, the lowest offset
  // among equals.
  auto i = free_by_size_.lower_bound({need, 0});
  if (i == free_by_size_.end())
    return std::nullopt;
  // Only one free region can reach above the high-water mark (the tail). If
  // the best fit is that one and the request would touch its cold part, the
  // next larger region is warm: writing there needs no fresh pages.
  if (i->second + need > high_water_) {
    if (auto j = std::next(i); j != free_by_size_.end())
      i = j;
  }
  auto [region_size, offset] = *i;
  // The rest of the region stays free: its tree nodes are reused.
  auto by_size = free_by_size_.extract(i);
  auto by_offset = free_by_offset_.extract(offset);
  if (region_size > need) {
    by_size.value() = {region_size - need, offset + need};
    free_by_size_.insert(std::move(by_size));
    by_offset.key() = offset + need;
    by_offset.mapped() = region_size - need;
    free_by_offset_.insert(std::move(by_offset));
  }
  used_regions_.emplace(offset, need);
  used_ += need;
  if (offset + need > high_water_)
    high_water_ = offset + need;
  return offset;
}

uint64_t arena_allocator::free(uint64_t offset) {
  auto i = used_regions_.find(offset);
  if (i == used_regions_.end())
    return 0;
  auto size = i->second;
  used_regions_.erase(i);
  used_ -= size;
  auto first = offset;
  auto last = offset + size;
  // Coalesce with the free neighbours on both sides.
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.end() && next->first == last) {
    last += next->second;
    erase_free(next->first, next->second);
  }
  auto prev = free_by_offset_.lower_bound(offset);
  if (prev != free_by_offset_.begin()) {
    --prev;
    if (prev->first + prev->second == first) {
      first = prev->first;
      erase_free(prev->first, prev->second);
    }
  }
  insert_free(first, last - first);
  return size;
}

uint64_t arena_allocator::region_size(uint64_t offset) const {
  auto i = used_regions_.find(offset);
  return i == used_regions_.end() ? 0 : i->second;
}

uint64_t arena_allocator::largest_free() const noexcept {
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

void arena_allocator::insert_free(uint64_t offset, uint64_t size) {
  free_by_offset_.emplace(offset, size);
  free_by_size_.emplace(size, offset);
}

void arena_allocator::erase_free(uint64_t offset, uint64_t size) {
  free_by_offset_.erase(offset);
  free_by_size_.erase({size, offset});
}

} // namespace cafray
