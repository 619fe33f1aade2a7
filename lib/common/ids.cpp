#include "common/ids.hpp"

#include <atomic>
#include <chrono>
#include <random>

namespace cafray {

std::pair<uint64_t, uint64_t> random_id_bits() {
  thread_local std::mt19937_64 gen{
    std::random_device{}()
    ^ static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t hi = 0;
  uint64_t lo = 0;
  while (hi == 0 && lo == 0) {
    hi = gen();
    lo = gen();
  }
  return {hi, lo};
}

task_id derive_task_id(const task_id& parent, uint64_t index) {
  // The children of one task share a high word (a 64-bit hash of the
  // parent) and count up in the low word: unique per (parent, index), and a
  // parent's children sort together in submission order, so their lineage
  // rows land side by side in the GCS's B-tree instead of all over it.
  return task_id{mix64(parent.hi ^ mix64(parent.lo ^ 0x9e3779b97f4a7c15ULL)),
                 index};
}

std::string to_hex(uint64_t hi, uint64_t lo) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result(32, '0');
  for (int i = 0; i < 16; ++i) {
    result[15 - i] = digits[(hi >> (4 * i)) & 0xf];
    result[31 - i] = digits[(lo >> (4 * i)) & 0xf];
  }
  return result;
}

std::string to_string(const object_id& x) {
  return to_string(x.task) + ":" + std::to_string(x.index);
}

namespace {

void append_be(std::string& out, uint64_t x, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

} // namespace

std::string to_key(const task_id& x) {
  std::string result;
  result.reserve(16);
  append_be(result, x.hi, 8);
  append_be(result, x.lo, 8);
  return result;
}

std::string to_key(const object_id& x) {
  auto result = to_key(x.task);
  append_be(result, x.index, 4);
  return result;
}

} // namespace cafray
