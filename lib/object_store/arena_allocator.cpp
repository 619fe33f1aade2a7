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
  // The rest of the region stays free, in the same place among the free
  // regions by offset: its tree nodes are reused, the offset one with a hint.
  auto by_size = free_by_size_.extract(i);
  auto at = free_by_offset_.find(offset);
  auto hint = std::next(at);
  auto by_offset = free_by_offset_.extract(at);
  if (region_size > need) {
    by_size.value() = {region_size - need, offset + need};
    free_by_size_.insert(std::move(by_size));
    by_offset.key() = offset + need;
    by_offset.mapped() = region_size - need;
    free_by_offset_.insert(hint, std::move(by_offset));
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
  // Coalesce with the free neighbours on both sides. A left neighbour
  // grows in place (its offset stays); otherwise the region is new.
  auto last = offset + size;
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.end() && next->first == last) {
    last += next->second;
    free_by_size_.erase({next->second, next->first});
    next = free_by_offset_.erase(next);
  }
  if (next != free_by_offset_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      auto node = free_by_size_.extract({prev->second, prev->first});
      prev->second = last - prev->first;
      node.value().first = prev->second;
      free_by_size_.insert(std::move(node));
      return size;
    }
  }
  free_by_offset_.emplace_hint(next, offset, last - offset);
  free_by_size_.emplace(last - offset, offset);
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

} // namespace cafray
