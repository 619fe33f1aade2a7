#pragma once

// Cluster mode: a driver's code libraries travel through the GCS. The
// driver stores each library, content-hashed, in the kv table under
// "code/<hash>" and lists the job's libraries under "job-code/<job>"; a
// node that meets a name it does not know loads the job's libraries. Not
// installed.

#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "common/ids.hpp"
#include "proto/gcs_router.hpp"

namespace cafray::detail {

/// Stores each library in the GCS for `job` (the driver runs its own code,
/// linked into it; the libraries are what other processes load). Throws cafray::error (invalid_config: a library cannot be read
/// or loaded; storage_error/timeout: the GCS did not take it).
void ship_code(caf::actor_system& sys, const gcs_router& gcs,
               const job_id& job, const std::vector<std::string>& paths);

/// Fetches the libraries of `job` from the GCS and loads those this
/// process has not loaded yet. Once per job and process; blocks while it
/// fetches. Returns true if any library was loaded.
bool load_job_code(caf::actor_system& sys, const gcs_router& gcs,
                   const job_id& job);

/// The code libraries named by the environment variable CAFRAY_CODE
/// (colon-separated paths), if set.
std::vector<std::string> code_from_environment();

} // namespace cafray::detail
