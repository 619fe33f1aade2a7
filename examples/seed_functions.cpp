// The seed article's first program: three remote functions composed through
// object refs. Prints 17.
#include <iostream>

#include "cafray/cafray.hpp"

int f1(int x) {
  return x * x;
}
CAFRAY_REMOTE(f1);

int f2(int y) {
  return y + 10;
}
CAFRAY_REMOTE(f2);

int f3(int x, int y) {
  return x + y;
}
CAFRAY_REMOTE(f3);

int main() {
  cafray::init();
  auto x = cafray::task(f1).remote(2);
  auto y = cafray::task(f2).remote(3);
  // Refs compose: f3 runs once x and y exist.
  auto z = cafray::task(f3).remote(x, y);
  std::cout << cafray::get(z) << std::endl;
  cafray::shutdown();
  return 0; // also built as a code library, where main is renamed
}
