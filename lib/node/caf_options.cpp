#include "node/caf_options.hpp"

#include <algorithm>

#include <caf/actor_system_config.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/io/middleman.hpp>

namespace cafray::node {

namespace {

// An actor_system_config declares CAF's options; loading the middleman adds
// the io ones. It is only read, never used to start a system.
class option_probe : public caf::actor_system_config {
public:
  option_probe() {
    load<caf::io::middleman>();
  }

  const caf::config_option_set& options() const {
    return custom_options_;
  }
};

option_probe& probe() {
  static option_probe instance;
  return instance;
}

const caf::config_option* find(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos || name.compare(0, dot, "global") == 0)
    return nullptr;
  return probe().options().qualified_name_lookup(name);
}

} // namespace

const std::vector<std::string>& caf_option_names() {
  static const auto names = [] {
    std::vector<std::string> xs;
    for (auto& opt : probe().options())
      if (opt.category() != caf::string_view{"global"}) {
        auto name = opt.full_name();
        xs.emplace_back(name.begin(), name.end());
      }
    return xs;
  }();
  return names;
}

bool is_caf_section(const std::string& name) {
  auto prefix = name + ".";
  auto& xs = caf_option_names();
  return std::any_of(xs.begin(), xs.end(), [&](const std::string& x) {
    return x.compare(0, prefix.size(), prefix) == 0;
  });
}

bool is_caf_option(const std::string& name) {
  return find(name) != nullptr;
}

std::string caf_option_type(const std::string& name) {
  auto* opt = find(name);
  if (opt == nullptr)
    return {};
  auto name_view = opt->type_name();
  return std::string(name_view.begin(), name_view.end());
}

std::string check_caf_option(const std::string& name,
                             const caf::config_value& x) {
  auto* opt = find(name);
  if (opt == nullptr)
    return "unknown key";
  if (opt->check(x))
    return "expected " + caf_option_type(name);
  return {};
}

caf::optional<caf::config_value> parse_caf_option(const std::string& name,
                                                  const std::string& text) {
  auto* opt = find(name);
  if (opt == nullptr)
    return caf::none;
  auto result = opt->parse(text);
  if (!result)
    return caf::none;
  return std::move(*result);
}

} // namespace cafray::node
