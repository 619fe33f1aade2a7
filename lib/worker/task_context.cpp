#include "worker/task_context.hpp"

namespace cafray {

task_context*& current_task_context() noexcept {
  thread_local task_context* ctx = nullptr;
  return ctx;
}

} // namespace cafray
