// arena-child NAME OFFSET SIZE SEED: another process on the node. Attaches
// the arena by name, checks that the region holds pattern(SEED) as the
// parent wrote it, writes pattern(SEED + 1) over it for the parent to check,
// and checks that a read-only attach sees the new bytes. The exit status
// says which step failed (0: all passed).

#include <cstdint>
#include <cstdio>
#include <string>

#include "object_store/shm_arena.hpp"

using namespace cafray;

namespace {

char pattern(uint64_t seed, uint64_t i) {
  return static_cast<char>(((i + seed) * 2654435761u) >> 11);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 5)
    return 2;
  std::string name = argv[1];
  auto offset = std::stoull(argv[2]);
  auto size = std::stoull(argv[3]);
  auto seed = std::stoull(argv[4]);
  auto rw = shm_arena::attach(name, shm_arena::access::read_write);
  if (!rw) {
    std::fprintf(stderr, "arena-child: attach failed\n");
    return 3;
  }
  auto& arena = **rw;
  if (arena.owner() || !arena.writable() || arena.capacity() < offset + size)
    return 4;
  if (arena.allocate(64).has_value()) // only the owner allocates
    return 5;
  if (!arena.prefault(offset, size))
    return 6;
  auto p = arena.at(offset);
  for (uint64_t i = 0; i < size; ++i)
    if (p[i] != pattern(seed, i)) {
      std::fprintf(stderr, "arena-child: byte %llu differs\n",
                   static_cast<unsigned long long>(i));
      return 7;
    }
  for (uint64_t i = 0; i < size; ++i)
    p[i] = pattern(seed + 1, i);
  auto ro = shm_arena::attach(name, shm_arena::access::read_only);
  if (!ro || (*ro)->writable())
    return 8;
  auto q = (*ro)->at(offset);
  for (uint64_t i = 0; i < size; ++i)
    if (q[i] != pattern(seed + 1, i))
      return 9;
  return 0;
}
