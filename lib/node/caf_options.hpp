#pragma once

#include <string>
#include <vector>

#include <caf/config_value.hpp>
#include <caf/optional.hpp>

// Internal to lib/node: CAF's own options (core and io, as CAF 0.17.6
// declares them), so that keys in CAF's sections are checked by CAF's own
// rules instead of being ignored.

namespace cafray::node {

/// Every CAF option as "category.name", e.g. "middleman.workers".
const std::vector<std::string>& caf_option_names();

/// Whether `name` is a CAF option category (scheduler, middleman, ...).
bool is_caf_section(const std::string& name);

/// Whether `name` ("category.name") is a CAF option.
bool is_caf_option(const std::string& name);

/// CAF's type name of option `name`, e.g. "timespan".
std::string caf_option_type(const std::string& name);

/// The reason `x` is not a valid value of option `name`, or "".
std::string check_caf_option(const std::string& name,
                             const caf::config_value& x);

/// Parses command-line `text` for option `name` the way CAF does.
caf::optional<caf::config_value> parse_caf_option(const std::string& name,
                                                  const std::string& text);

} // namespace cafray::node
