#pragma once

// Starting a runtime in its role (cluster_start.cpp). Not installed.

#include "api/detail/runtime_state.hpp"

namespace cafray::detail {

/// Starts what `r.cfg` asks for: the whole runtime (embedded or head), a
/// node, a driver of a running cluster, or a worker process (running tasks,
/// or hosting one actor). Throws cafray::error; the caller stops whatever
/// was started.
void start(runtime& r);

} // namespace cafray::detail
