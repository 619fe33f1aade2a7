// The seed article's second program: four Counter actors, each keeping its
// own state across calls.
#include <iostream>
#include <vector>

#include "cafray/cafray.hpp"

class Counter {
public:
  Counter() = default;

  void increment() {
    n_ += 1;
  }

  int read() const {
    return n_;
  }

private:
  int n_ = 0;
};
CAFRAY_ACTOR(Counter);
CAFRAY_METHOD(Counter, increment);
CAFRAY_METHOD(Counter, read);

void print(const std::vector<int>& xs) {
  std::cout << '[';
  for (size_t i = 0; i < xs.size(); ++i)
    std::cout << (i > 0 ? ", " : "") << xs[i];
  std::cout << ']' << std::endl;
}

int main() {
  cafray::init();
  std::vector<cafray::actor_handle<Counter>> counters;
  for (int i = 0; i < 4; ++i)
    counters.push_back(cafray::actor<Counter>().remote());
  for (int round = 0; round < 3; ++round) {
    for (auto& c : counters)
      c.call(&Counter::increment);
    std::vector<cafray::object_ref<int>> futures;
    for (auto& c : counters)
      futures.push_back(c.call(&Counter::read));
    print(cafray::get(futures));
  }
  cafray::shutdown();
  return 0; // also built as a code library, where main is renamed
}
