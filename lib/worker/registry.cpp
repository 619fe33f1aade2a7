#include "worker/registry.hpp"

#include <mutex>

namespace cafray {

const method_entry*
actor_class_entry::find_method(std::string_view method) const {
  for (auto& m : methods)
    if (m.name == method)
      return &m;
  return nullptr;
}

const method_entry*
actor_class_entry::find_method_by_pointer(const std::string& bytes) const {
  for (auto& m : methods)
    if (m.pointer_bytes == bytes)
      return &m;
  return nullptr;
}

registry& registry::instance() {
  static registry inst;
  return inst;
}

void registry::set_code_loader(code_loader loader) {
  std::lock_guard<std::mutex> guard{loader_mtx_};
  loader_ = std::move(loader);
}

bool registry::load_code(uint64_t job_hi, uint64_t job_lo) {
  code_loader loader;
  {
    std::lock_guard<std::mutex> guard{loader_mtx_};
    loader = loader_;
  }
  return loader ? loader(job_hi, job_lo) : false;
}

void registry::add_function(function_entry entry) {
  std::unique_lock guard{mtx_};
  auto name = entry.name;
  functions_[name] = std::make_unique<function_entry>(std::move(entry));
}

void registry::add_class(actor_class_entry entry) {
  std::unique_lock guard{mtx_};
  auto& slot = classes_[entry.name];
  if (slot) {
    // Methods may have been registered first (static init order); keep the
    // ones the new entry does not have.
    for (auto& m : slot->methods)
      if (!entry.find_method(m.name))
        entry.methods.push_back(m);
  }
  slot = std::make_unique<actor_class_entry>(std::move(entry));
}

void registry::add_method(const std::string& class_name, method_entry entry) {
  std::unique_lock guard{mtx_};
  auto& slot = classes_[class_name];
  if (!slot) {
    slot = std::make_unique<actor_class_entry>();
    slot->name = class_name;
  }
  slot->methods.emplace_back(std::move(entry));
}

void registry::add_behavior(behavior_entry entry) {
  std::unique_lock guard{mtx_};
  auto name = entry.name;
  behaviors_[name] = std::make_unique<behavior_entry>(std::move(entry));
}

const function_entry* registry::find_function(const std::string& name) const {
  std::shared_lock guard{mtx_};
  auto i = functions_.find(name);
  return i != functions_.end() ? i->second.get() : nullptr;
}

const actor_class_entry*
registry::find_class(const std::string& name) const {
  std::shared_lock guard{mtx_};
  auto i = classes_.find(name);
  return i != classes_.end() && i->second->construct ? i->second.get()
                                                     : nullptr;
}

const behavior_entry* registry::find_behavior(const std::string& name) const {
  std::shared_lock guard{mtx_};
  auto i = behaviors_.find(name);
  return i != behaviors_.end() ? i->second.get() : nullptr;
}

std::vector<const function_entry*> registry::functions() const {
  std::shared_lock guard{mtx_};
  std::vector<const function_entry*> result;
  for (auto& kvp : functions_)
    result.push_back(kvp.second.get());
  return result;
}

} // namespace cafray
