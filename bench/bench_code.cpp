#include "bench_code.hpp"

std::string small_value() {
  return "ok";
}
CAFRAY_REMOTE(small_value);

void noop() {
}
CAFRAY_REMOTE(noop);

int64_t add(int64_t x, int64_t y) {
  return x + y;
}
CAFRAY_REMOTE(add);

CAFRAY_ACTOR(BenchActor);
CAFRAY_METHOD(BenchActor, small_value);
