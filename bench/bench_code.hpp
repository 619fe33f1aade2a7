#pragma once

// The user code of cafray-bench: the remote functions and the actor class
// its benchmarks call. Built into the benchmark and, on its own, into
// libcafray_bench_code.so, the code library a cluster's worker processes
// load when cafray-bench drives a cluster (see cluster-bench.sh).

#include <cstdint>
#include <string>

#include "cafray/cafray.hpp"

std::string small_value();

void noop();

int64_t add(int64_t x, int64_t y);

class BenchActor {
public:
  std::string small_value() {
    return "ok";
  }
};
