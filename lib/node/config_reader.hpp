#pragma once

#include <map>
#include <string>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

// Internal to lib/node: turns CAF-format config text into a tree of settings
// and remembers where each key came from. It checks syntax only; the key
// table in node_config.cpp gives the keys their meaning.

namespace cafray::node::detail {

/// Settings read so far, with the origin of every key for error messages.
struct settings_tree {
  /// Nested dictionaries: `[cafray.gcs]` + `shards = 2` is
  /// {cafray: {gcs: {shards: 2}}}.
  caf::settings root;

  /// Dotted key -> where it was set, e.g. "config/a.ini:4" or "command line".
  std::map<std::string, std::string> origins;

  /// Where `key` (or its nearest enclosing section) was set.
  std::string origin_of(const std::string& key) const;
};

/// Parses `text` in CAF 0.17's config-file syntax into `out`. `origin` names
/// the file in messages. On failure returns false and sets `error` to a
/// message like "a.ini:3:7: syntax error: ...".
bool read_config_text(const std::string& text, const std::string& origin,
                      settings_tree& out, std::string& error);

/// Parses one value in config-file syntax (`4`, `"x"`, `[1, 2]`, `{a = 1}`,
/// `100ms`, `'atom'`). Returns false unless all of `text` is one value.
bool read_value_text(const std::string& text, caf::config_value& out);

/// Sets the dotted `key` to `value` in `out`, replacing what was there, and
/// records `origin`.
void put_value(settings_tree& out, const std::string& key,
               caf::config_value value, const std::string& origin);

} // namespace cafray::node::detail
