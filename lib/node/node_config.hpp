#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/config_value.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/settings.hpp>

#include "common/runtime_config.hpp"

namespace cafray::node {

/// What a `caf-node` runs with: caf-ray's own settings plus CAF's sections.
struct node_config {
  /// Every `cafray.*` key, plus `scheduler.max-threads`.
  runtime_config runtime;

  /// CAF's own sections (scheduler, middleman, logger, ...), passed through
  /// untouched except for the keys of the descriptor table
  /// (`scheduler.policy`); use them to fill a `caf::actor_system_config`.
  caf::settings caf;
};

/// One configuration key: the single table behind validation, `--help` and
/// the test that keeps config/reference.ini complete.
struct key_descriptor {
  /// Full dotted name, e.g. "cafray.gcs.shards".
  std::string name;

  /// What the value must be, e.g. "integer >= 1".
  std::string type;

  /// The default in config-file syntax, e.g. `1`, `""`, `{}`.
  std::string default_value;

  /// One line of meaning.
  std::string meaning;

  /// Whether a command-line value is taken verbatim as a string (like CAF's
  /// string options) unless it is double-quoted.
  bool verbatim = false;

  /// Checks `x` and stores it into `out`; returns the reason on failure,
  /// an empty string on success.
  std::function<std::string(const caf::config_value& x, node_config& out)>
    apply;
};

/// Every key caf-ray knows, in the order of config/reference.ini.
const std::vector<key_descriptor>& key_descriptors();

/// Reads `path` (CAF's INI format; an empty path reads no file) and applies
/// `overrides` (command-line arguments `--section.key=value`, later ones
/// win), validating every key. Fails with `errc::invalid_config`; the
/// message names the file (or the command line), the key and the reason.
caf::expected<node_config>
load_config(const std::string& path,
            const std::vector<std::string>& overrides = {});

/// Like `load_config`, with the file's `text` given; `origin` names it in
/// error messages.
caf::expected<node_config>
parse_config(const std::string& text, const std::string& origin,
             const std::vector<std::string>& overrides = {});

/// The human-readable message of a config error (its context string), or
/// `render(err)` for any other error.
std::string message_of(const caf::error& err);

/// Every option with its type, default and meaning, for `caf-node --help`.
std::string render_help();

/// Renders `x` in config-file syntax: strings double-quoted, lists `[...]`,
/// maps `{a = 1}`.
std::string render_value(const caf::config_value& x);

} // namespace cafray::node
