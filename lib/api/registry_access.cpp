#include <array>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "api/actor.hpp"
#include "api/behavior.hpp"
#include "api/remote.hpp"
#include "worker/executor.hpp"

namespace cafray::detail {

namespace {

/// Process-local names of registered code, by function pointer or type.
struct local_names {
  std::shared_mutex mtx;
  std::unordered_map<void (*)(), std::string> functions;
  std::unordered_map<void (*)(), std::string> behaviors;
  std::unordered_map<std::type_index, std::string> classes;
};

local_names& names() {
  static local_names inst;
  return inst;
}

std::string lookup(std::unordered_map<void (*)(), std::string>& map,
                   void (*f)(), const char* what) {
  auto& n = names();
  std::shared_lock guard{n.mtx};
  auto i = map.find(f);
  if (i != map.end())
    return i->second;
  return std::string{"<unregistered "} + what + ">";
}

} // namespace

std::string demangle_name(const char* mangled) {
  return demangle(mangled);
}

void remember_function_pointer(void (*f)(), const std::string& name) {
  std::unique_lock guard{names().mtx};
  names().functions[f] = name;
}

std::string function_name(void (*f)()) {
  return lookup(names().functions, f, "function");
}

void remember_behavior_pointer(void (*f)(), const std::string& name) {
  std::unique_lock guard{names().mtx};
  names().behaviors[f] = name;
}

std::string behavior_name(void (*f)()) {
  return lookup(names().behaviors, f, "behavior");
}

void remember_class_name(const std::type_info& type, const std::string& name) {
  std::unique_lock guard{names().mtx};
  names().classes[std::type_index{type}] = name;
}

std::string class_name(const std::type_info& type) {
  auto& n = names();
  std::shared_lock guard{n.mtx};
  auto i = n.classes.find(std::type_index{type});
  if (i != n.classes.end())
    return i->second;
  return demangle(type.name());
}

std::string method_name(const std::type_info& type, const std::string& bytes) {
  // A caller calls the same few methods over and over: the last few names
  // found are kept per thread (a registered method's name never changes).
  struct found {
    const std::type_info* type = nullptr;
    std::string bytes;
    std::string name;
  };
  thread_local std::array<found, 4> cache;
  thread_local size_t next = 0;
  for (auto& x : cache)
    if (x.type != nullptr && *x.type == type && x.bytes == bytes)
      return x.name;
  auto cls = class_name(type);
  if (auto entry = registry::instance().find_class(cls))
    if (auto m = entry->find_method_by_pointer(bytes)) {
      auto& slot = cache[next++ % cache.size()];
      slot.type = &type;
      slot.bytes = bytes;
      slot.name = cls + "::" + m->name;
      return slot.name;
    }
  return cls + "::<unregistered method>";
}

resource_map to_milli(const std::map<std::string, double>& resources,
                      bool default_cpu) {
  resource_map result;
  if (default_cpu)
    result["CPU"] = 1000;
  for (auto& [name, amount] : resources)
    result[name] = static_cast<int64_t>(amount * 1000.0 + 0.5);
  return result;
}

object_payload request_failure(const caf::error& err,
                               const std::string& what) {
  task_spec spec;
  spec.function = what;
  auto code = code_of(err);
  if (err.category() == caf::atom("system"))
    code = errc::actor_died;
  return make_error_payload(code, spec, render(err));
}

} // namespace cafray::detail
