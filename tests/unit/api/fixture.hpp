#pragma once

// Shared helpers of the API tests: every test case starts a fresh embedded
// runtime and shuts it down at the end, so the cases also exercise init after
// shutdown.

#include <chrono>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "cafray/cafray.hpp"

namespace api_test {

using namespace std::chrono_literals;

/// Upper bound for anything that should finish: a hang becomes a failed
/// timeout_error, never a stuck test.
constexpr auto patience = std::chrono::seconds{20};

/// A custom resource the test runtime offers (one unit).
inline const std::string gpu = "gpu";

/// A custom resource no node has: tasks needing it stay pending forever.
inline const std::string unobtainium = "unobtainium";

inline cafray::runtime_config test_config() {
  cafray::runtime_config cfg;
  cfg.num_cpus = 2;
  cfg.resources = {{gpu, 1}};
  return cfg;
}

struct runtime_fixture {
  runtime_fixture() {
    cafray::init(test_config());
  }
  ~runtime_fixture() {
    cafray::shutdown();
  }
};

/// Runs `f` and returns the caf-ray error code it throws (errc::none if it
/// returns normally).
template <class F>
cafray::errc code_of_call(F&& f) {
  try {
    f();
  } catch (const cafray::error& e) {
    return e.code();
  }
  return cafray::errc::none;
}

} // namespace api_test
