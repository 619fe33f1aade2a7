#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "proto/messages.hpp"
#include "worker/registry.hpp"

namespace cafray {

/// Wall clock in ns since the epoch.
int64_t now_ns();

/// Demangled name of a type_info name.
std::string demangle(const char* mangled);

/// An error payload for `spec`.
object_payload make_error_payload(errc code, const task_spec& spec,
                                  std::string message,
                                  std::string type_name = {});

/// Collects the arguments of `spec`, taking resolved ones from `resolved`
/// (aligned with spec.args). Returns the first failed argument's payload
/// instead when an argument failed (the original error propagates).
bool collect_args(const task_spec& spec,
                  const std::vector<object_payload>& resolved, arg_blobs& out,
                  object_payload& failure);

/// Runs a remote function: looks it up, checks the signature, invokes it and
/// turns any exception into a task error. Never throws.
object_payload run_function(const task_spec& spec,
                            const std::vector<object_payload>& resolved);

/// Runs a method of `cls` on `self`. Never throws.
object_payload run_method(const actor_class_entry& cls, void* self,
                          const task_spec& spec,
                          const std::vector<object_payload>& resolved);

/// Constructs an instance of `cls`; on failure returns nullptr and sets
/// `failure`. Never throws.
std::shared_ptr<void> construct_instance(const actor_class_entry& cls,
                                         const task_spec& spec,
                                         const std::vector<object_payload>&
                                           resolved,
                                         object_payload& failure);

} // namespace cafray
