#pragma once

// Copies of large objects into shared memory, spread over threads (as
// Plasma's clients copy large objects with several threads): one thread
// moves about 7 GB/s here, two 12-13 when they write with non-temporal
// stores (the destination is not read back soon by the copying core, so
// its lines need not be fetched first).

#include <cstddef>
#include <functional>

namespace cafray {

/// Smaller copies are one memcpy on the calling thread.
constexpr size_t parallel_copy_threshold = size_t{4} << 20;

/// Runs on each chunk of the destination (its offset from the start and
/// its size) before that chunk is written, on the thread that writes it:
/// e.g. mapping its pages.
using copy_prepare = std::function<void(size_t offset, size_t size)>;

/// Copies `n` bytes from `src` to `dst` (not overlapping). From
/// `parallel_copy_threshold` on, the calling thread and up to three helper
/// threads (started on first use, one per further core) each copy a
/// contiguous chunk; `prepare` (if set) runs on each chunk first.
void parallel_copy(void* dst, const void* src, size_t n,
                   const copy_prepare& prepare = nullptr);

} // namespace cafray
