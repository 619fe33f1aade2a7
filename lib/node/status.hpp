#pragma once

#include <string>

#include "proto/cluster_actor.hpp"

namespace cafray::node {

/// `caf-node status`: the cluster as a table, one node per line, then the
/// actors by state.
std::string render_status(const std::string& address,
                          const cluster_status& status);

/// Asks the head at `address` for the cluster's status and prints it.
/// Returns the process's exit code (1 with a message on stderr if the head
/// cannot be reached within 5 s).
int run_status(const std::string& address);

} // namespace cafray::node
