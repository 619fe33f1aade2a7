// A driver that returns from main without calling cafray::shutdown(), with
// refs and a worker-held object still alive: it must print its result and
// exit 0, not hang in the actor system's destructor or crash on the way out.
#include <cstdio>
#include <string>
#include <vector>

#include <cafray/cafray.hpp>

namespace {

int square(int x) {
  return x * x;
}

} // namespace

CAFRAY_REMOTE(square);

int main() {
  cafray::init();
  std::vector<cafray::object_ref<int>> refs;
  for (int i = 0; i < 100; ++i)
    refs.push_back(cafray::task(square).remote(i));
  static auto kept = cafray::put(std::string(1 << 20, 'x'));
  long sum = 0;
  for (auto x : cafray::get(refs))
    sum += x;
  std::printf("sum %ld, kept %zu bytes\n", sum, cafray::get(kept).size());
  return 0;
}
