#pragma once

// Worker processes: started by a node's raylet, one per worker slot.

#include <string>
#include <vector>

#include <sys/types.h>

namespace cafray {

/// Starts `exe` with `args` (argv[1..]) as a child process that dies with
/// its parent (PR_SET_PDEATHSIG) and shares its stdout/stderr. Returns the
/// child's pid, or -1 (errno set) if it could not start.
pid_t start_process(const std::string& exe,
                    const std::vector<std::string>& args);

/// This process's executable (/proc/self/exe resolved).
std::string self_executable();

/// Collects a finished child (no zombie left); with `wait`, waits for it.
/// Returns true once the child is gone.
bool reap(pid_t pid, bool wait = false);

} // namespace cafray
