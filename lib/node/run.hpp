#pragma once

#include "common/runtime_config.hpp"

namespace cafray::node {

/// Runs a node with `cfg` until SIGINT or SIGTERM; returns the process exit
/// code. Prints a one-line banner once the node is up (and the signals are
/// being waited for), so scripts may signal it as soon as they read it.
int run(const runtime_config& cfg);

} // namespace cafray::node
