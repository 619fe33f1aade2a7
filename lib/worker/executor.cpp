#include "worker/executor.hpp"

#include <chrono>
#include <cxxabi.h>
#include <exception>
#include <typeinfo>

namespace cafray {

int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> res{
    abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free};
  return status == 0 && res ? std::string{res.get()} : std::string{mangled};
}

object_payload make_error_payload(errc code, const task_spec& spec,
                                  std::string message, std::string type_name) {
  object_payload result;
  result.error_code = static_cast<uint8_t>(code);
  result.error.code = static_cast<uint8_t>(code);
  result.error.task = spec.id;
  result.error.function = spec.function;
  result.error.type_name = std::move(type_name);
  result.error.message = std::move(message);
  result.error.time_ns = now_ns();
  return result;
}

bool collect_args(const task_spec& spec,
                  const std::vector<object_payload>& resolved, arg_blobs& out,
                  object_payload& failure) {
  out.clear();
  out.reserve(spec.args.size());
  for (size_t i = 0; i < spec.args.size(); ++i) {
    auto& arg = spec.args[i];
    if (arg.kind == static_cast<uint8_t>(arg_kind::resolved)) {
      if (i >= resolved.size()) {
        failure = make_error_payload(errc::bad_argument, spec,
                                     "argument " + std::to_string(i)
                                       + " was not resolved");
        return false;
      }
      if (resolved[i].failed()) {
        failure = resolved[i];
        return false;
      }
      out.push_back(resolved[i].data);
    } else {
      out.push_back(arg.value);
    }
  }
  return true;
}

namespace {

template <class F>
object_payload guarded(const task_spec& spec, F&& f) {
  try {
    object_payload result;
    result.data = f();
    return result;
  } catch (const std::exception& e) {
    return make_error_payload(errc::task_failed, spec, e.what(),
                              demangle(typeid(e).name()));
  } catch (...) {
    auto t = abi::__cxa_current_exception_type();
    return make_error_payload(errc::task_failed, spec,
                              "non-standard exception",
                              t ? demangle(t->name()) : "unknown");
  }
}

std::string mismatch_text(const std::string& expected, uint64_t got) {
  return "registered signature (" + expected
         + ") does not match the argument types of the call (hash "
         + std::to_string(got) + ")";
}

} // namespace

object_payload run_function(const task_spec& spec,
                            const std::vector<object_payload>& resolved) {
  auto& reg = registry::instance();
  auto entry = reg.find_function(spec.function);
  if (!entry) {
    // Another thread may have loaded the job's code meanwhile: look again
    // whatever this call loaded.
    reg.load_code(spec.job.hi, spec.job.lo);
    entry = reg.find_function(spec.function);
  }
  if (!entry)
    return make_error_payload(errc::unknown_function, spec,
                              "no remote function named '" + spec.function
                                + "'");
  if (entry->signature != spec.signature)
    return make_error_payload(errc::signature_mismatch, spec,
                              mismatch_text(entry->signature_text,
                                            spec.signature));
  arg_blobs args;
  object_payload failure;
  if (!collect_args(spec, resolved, args, failure))
    return failure;
  return guarded(spec, [&] { return entry->invoke(args); });
}

object_payload run_method(const actor_class_entry& cls, void* self,
                          const task_spec& spec,
                          const std::vector<object_payload>& resolved) {
  std::string_view method_name{spec.function};
  if (auto sep = method_name.rfind("::"); sep != std::string_view::npos)
    method_name.remove_prefix(sep + 2);
  auto entry = cls.find_method(method_name);
  if (!entry)
    return make_error_payload(errc::unknown_function, spec,
                              "class '" + cls.name + "' has no method '"
                                + std::string{method_name} + "'");
  if (entry->signature != spec.signature)
    return make_error_payload(errc::signature_mismatch, spec,
                              mismatch_text(entry->signature_text,
                                            spec.signature));
  arg_blobs args;
  object_payload failure;
  if (!collect_args(spec, resolved, args, failure))
    return failure;
  return guarded(spec, [&] { return entry->invoke(self, args); });
}

std::shared_ptr<void>
construct_instance(const actor_class_entry& cls, const task_spec& spec,
                   const std::vector<object_payload>& resolved,
                   object_payload& failure) {
  if (cls.ctor_signature != spec.signature) {
    failure = make_error_payload(errc::signature_mismatch, spec,
                                 mismatch_text(cls.ctor_signature_text,
                                               spec.signature));
    return nullptr;
  }
  arg_blobs args;
  if (!collect_args(spec, resolved, args, failure))
    return nullptr;
  std::shared_ptr<void> instance;
  auto result = guarded(spec, [&] {
    instance = cls.construct(args);
    return blob{};
  });
  if (result.failed()) {
    failure = std::move(result);
    return nullptr;
  }
  return instance;
}

} // namespace cafray
