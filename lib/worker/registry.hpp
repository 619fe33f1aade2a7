#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "proto/blob.hpp"

namespace cafray {

/// Serialized arguments of one call, in parameter order.
using arg_blobs = std::vector<blob>;

/// Calls a registered function on decoded arguments; returns the encoded
/// result (empty for void). Throws whatever the user code throws.
using invoke_fn = std::function<blob(const arg_blobs&)>;

struct function_entry {
  std::string name;
  uint64_t signature = 0;
  std::string signature_text;
  invoke_fn invoke;
};

/// Calls a method on an instance of a registered class.
using method_fn = std::function<blob(void* self, const arg_blobs&)>;

struct method_entry {
  std::string name;
  uint64_t signature = 0;
  std::string signature_text;
  method_fn invoke;
  /// Object representation of the member function pointer, so that a call
  /// site holding `&C::m` finds the entry's name.
  std::string pointer_bytes;
};

using construct_fn = std::function<std::shared_ptr<void>(const arg_blobs&)>;

struct actor_class_entry {
  std::string name;
  uint64_t ctor_signature = 0;
  std::string ctor_signature_text;
  construct_fn construct;
  std::vector<method_entry> methods;

  const method_entry* find_method(std::string_view method) const;
  const method_entry* find_method_by_pointer(const std::string& bytes) const;
};

/// Spawns a registered typed behavior with decoded arguments.
using spawn_fn = std::function<caf::actor(caf::actor_system&, const arg_blobs&)>;

struct behavior_entry {
  std::string name;
  uint64_t signature = 0;
  std::string signature_text;
  spawn_fn spawn;
};

/// Process-wide table of user code, filled by the registration macros at
/// static initialization (or when a code library is loaded). Names are the
/// same in every process that links the same code.
class registry {
public:
  static registry& instance();

  void add_function(function_entry entry);
  void add_class(actor_class_entry entry);
  void add_method(const std::string& class_name, method_entry entry);
  void add_behavior(behavior_entry entry);

  /// Entries stay valid for the life of the process.
  const function_entry* find_function(const std::string& name) const;
  const actor_class_entry* find_class(const std::string& name) const;
  const behavior_entry* find_behavior(const std::string& name) const;

  std::vector<const function_entry*> functions() const;

  /// Loads the code libraries of a job (cluster mode: fetched from the
  /// GCS); returns true if that may have registered new names.
  using code_loader = std::function<bool(uint64_t job_hi, uint64_t job_lo)>;

  /// Installs the loader a node uses when a task names something this
  /// process has not registered (nullptr: none).
  void set_code_loader(code_loader loader);

  /// Runs the loader for a job, if one is installed. Safe from any thread;
  /// it blocks while the code is fetched.
  bool load_code(uint64_t job_hi, uint64_t job_lo);

private:
  std::mutex loader_mtx_;
  code_loader loader_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, std::unique_ptr<function_entry>> functions_;
  std::unordered_map<std::string, std::unique_ptr<actor_class_entry>> classes_;
  std::unordered_map<std::string, std::unique_ptr<behavior_entry>> behaviors_;
};

} // namespace cafray
