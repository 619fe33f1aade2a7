#pragma once

// The roles of cafray-gcs, one function each; main.cpp parses the command
// line and builds the actor system.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

namespace cafray::gcs_tool {

/// `--key=value` arguments of one role, checked against the keys it knows.
class arguments {
public:
  /// Parses argv[first..]; `error()` says what was wrong.
  arguments(int argc, char** argv, int first,
            const std::vector<std::string>& known);

  const std::string& error() const {
    return error_;
  }

  bool has(const std::string& key) const {
    return values_.count(key) > 0;
  }

  std::string text(const std::string& key, std::string fallback = {}) const;

  /// A non-negative integer; sets `error()` if the value is not one.
  uint64_t number(const std::string& key, uint64_t fallback = 0);

  /// A comma-separated list of non-negative integers.
  std::vector<uint64_t> numbers(const std::string& key);

  /// "host:port" split in two.
  std::optional<std::pair<std::string, uint16_t>>
  endpoint(const std::string& key);

private:
  std::map<std::string, std::string> values_;
  std::string error_;
};

/// Runs a shard's coordinator, published on --port, until killed.
int run_coordinator(caf::actor_system& sys, arguments& args);

/// Runs replica --id over --dir, published on --port, until killed.
int run_replica(caf::actor_system& sys, arguments& args);

/// Drives writers through chain clients and writes their history.
int run_load(caf::actor_system& sys, arguments& args);

/// Prints the chain and every member's status.
int run_status(caf::actor_system& sys, arguments& args);

/// Reads keys back: the final reads of a history, or every acknowledged
/// write of histories written with --unique-keys.
int run_verify(caf::actor_system& sys, arguments& args);

/// Asks one replica directly whether it serves reads and takes writes.
int run_probe(caf::actor_system& sys, arguments& args);

/// Blocks until a signal ends the process.
void wait_for_signal();

/// Nanoseconds on the machine's monotonic clock, comparable across
/// processes.
int64_t monotonic_ns();

} // namespace cafray::gcs_tool
