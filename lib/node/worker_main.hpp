#pragma once

#include <cstdint>
#include <string>

namespace cafray::node {

/// `caf-node worker --agent HOST:PORT --index N`: a worker process of a
/// node, started by its raylet. Attaches to the node's agent, runs worker
/// slot `N` until the raylet stops it or the node goes away, and returns
/// the exit code. With `actor` ("HI:LO", `--actor`), the process hosts that
/// actor instead, and ends with it.
int run_worker(const std::string& agent, uint32_t index,
               const std::string& actor = {});

} // namespace cafray::node
