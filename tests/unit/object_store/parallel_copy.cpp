// parallel_copy: every byte lands where it belongs whatever the size and
// alignment, and `prepare` covers the destination exactly once.
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "common/parallel_copy.hpp"

using cafray::parallel_copy;

namespace {

std::vector<char> pattern(size_t n) {
  std::vector<char> result(n);
  uint32_t x = 12345;
  for (auto& c : result) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return result;
}

} // namespace

TEST_CASE("parallel_copy copies small and large buffers at any alignment") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{4096},
                   cafray::parallel_copy_threshold - 1,
                   cafray::parallel_copy_threshold,
                   cafray::parallel_copy_threshold * 3 + 77}) {
    for (size_t shift : {size_t{0}, size_t{1}, size_t{17}, size_t{63}}) {
      auto src = pattern(n + 64);
      std::vector<char> dst(n + 128, 0);
      std::mutex mtx;
      std::vector<std::pair<size_t, size_t>> chunks;
      parallel_copy(dst.data() + shift, src.data() + 3, n,
                    [&](size_t offset, size_t size) {
                      std::lock_guard<std::mutex> guard{mtx};
                      chunks.emplace_back(offset, size);
                    });
      CHECK(std::equal(src.begin() + 3, src.begin() + 3 + n,
                       dst.begin() + shift));
      // Nothing written around it.
      CHECK(std::all_of(dst.begin(), dst.begin() + shift,
                        [](char c) { return c == 0; }));
      CHECK(std::all_of(dst.begin() + shift + n, dst.end(),
                        [](char c) { return c == 0; }));
      // The chunks tile [0, n) without gaps or overlaps.
      std::sort(chunks.begin(), chunks.end());
      size_t next = 0;
      for (auto& [offset, size] : chunks) {
        CHECK_EQ(offset, next);
        next = offset + size;
      }
      CHECK_EQ(next, n);
    }
  }
}
