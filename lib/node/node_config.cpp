#include "node/node_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "node/caf_options.hpp"
#include "node/config_reader.hpp"

namespace cafray::node {

namespace {

constexpr uint64_t mib = 1024 * 1024;

std::string got(const caf::config_value& x) {
  return ", got " + render_value(x);
}

// -- descriptor builders ------------------------------------------------------

/// An integer field of runtime_config within [min, max].
template <class T>
key_descriptor integer_key(std::string name, T runtime_config::*field,
                           int64_t min, int64_t max, std::string meaning) {
  key_descriptor d;
  d.name = std::move(name);
  d.type = "integer in [" + std::to_string(min) + ", " + std::to_string(max)
           + "]";
  d.default_value = std::to_string(runtime_config{}.*field);
  d.meaning = std::move(meaning);
  d.apply = [field, min, max](const caf::config_value& x, node_config& out) {
    auto* i = caf::get_if<int64_t>(&x);
    if (i == nullptr)
      return std::string{min > 0 ? "expected a positive integer"
                                 : "expected a non-negative integer"}
             + got(x);
    if (*i < min)
      return std::string{min > 0 ? "expected a positive integer"
                                 : "expected a non-negative integer"}
             + got(x);
    if (*i > max)
      return "must be at most " + std::to_string(max) + got(x);
    out.runtime.*field = static_cast<T>(*i);
    return std::string{};
  };
  return d;
}

/// A string field of runtime_config; `check` returns a reason or "".
key_descriptor
string_key(std::string name, std::string runtime_config::*field,
           std::string type, std::string meaning,
           std::function<std::string(const std::string&)> check = nullptr) {
  key_descriptor d;
  d.name = std::move(name);
  d.type = std::move(type);
  d.default_value = render_value(caf::config_value{runtime_config{}.*field});
  d.meaning = std::move(meaning);
  d.verbatim = true;
  d.apply = [field, check](const caf::config_value& x, node_config& out) {
    auto* str = caf::get_if<std::string>(&x);
    if (str == nullptr)
      return "expected a double-quoted string" + got(x);
    if (check)
      if (auto reason = check(*str); !reason.empty())
        return reason + got(x);
    out.runtime.*field = *str;
    return std::string{};
  };
  return d;
}

/// A boolean field of runtime_config.
key_descriptor bool_key(std::string name, bool runtime_config::*field,
                        std::string meaning) {
  key_descriptor d;
  d.name = std::move(name);
  d.type = "boolean (true or false)";
  d.default_value = runtime_config{}.*field ? "true" : "false";
  d.meaning = std::move(meaning);
  d.apply = [field](const caf::config_value& x, node_config& out) {
    auto* b = caf::get_if<bool>(&x);
    if (b == nullptr)
      return "expected true or false" + got(x);
    out.runtime.*field = *b;
    return std::string{};
  };
  return d;
}

std::string check_address(const std::string& str) {
  if (str.empty())
    return {};
  auto colon = str.rfind(':');
  std::string what = "expected \"host:port\" with a port in [1, 65535]";
  if (colon == std::string::npos || colon == 0 || colon + 1 == str.size())
    return what;
  auto port = str.substr(colon + 1);
  if (port.size() > 5
      || !std::all_of(port.begin(), port.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return what;
  auto n = std::stoul(port);
  if (n < 1 || n > 65535)
    return what;
  return {};
}

key_descriptor resources_key() {
  key_descriptor d;
  d.name = "cafray.resources";
  d.type = "map of name to integer >= 0";
  d.default_value = "{}";
  d.meaning = "Custom resources this node offers, in whole units, "
              "e.g. {gpu = 1}.";
  d.apply = [](const caf::config_value& x, node_config& out) {
    auto* xs = caf::get_if<caf::config_value::dictionary>(&x);
    if (xs == nullptr)
      return "expected a map of resource names to whole units, "
             "e.g. {gpu = 1}"
             + got(x);
    std::map<std::string, int64_t> result;
    for (auto& [name, amount] : *xs) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (lower == "cpu")
        return "resource '" + name
               + "' is reserved: set CPUs with cafray.num-cpus";
      auto* n = caf::get_if<int64_t>(&amount);
      if (n == nullptr || *n < 0)
        return "resource '" + name + "': expected a non-negative integer"
               + got(amount);
      result.emplace(name, *n);
    }
    out.runtime.resources = std::move(result);
    return std::string{};
  };
  return d;
}

key_descriptor policy_key() {
  key_descriptor d;
  d.name = "scheduler.policy";
  d.type = "'yielding', 'stealing' or 'sharing'";
  d.default_value = "'yielding'";
  d.meaning = "CAF scheduler; 'yielding' polls yielding the core, then "
              "sleeps until woken; 'stealing' polls in a tight loop, then "
              "sleeps in steps; 'sharing' sleeps at once.";
  d.apply = [](const caf::config_value& x, node_config& out) {
    std::string str;
    if (auto* a = caf::get_if<caf::atom_value>(&x))
      str = caf::to_string(*a);
    else if (auto* s = caf::get_if<std::string>(&x))
      str = *s;
    else
      return "expected 'yielding', 'stealing' or 'sharing'" + got(x);
    if (str != "yielding" && str != "stealing" && str != "sharing")
      return "expected 'yielding', 'stealing' or 'sharing'" + got(x);
    out.runtime.scheduler_policy = str;
    return std::string{};
  };
  return d;
}

std::vector<key_descriptor> make_descriptors() {
  using rc = runtime_config;
  constexpr int64_t u32 = std::numeric_limits<uint32_t>::max();
  std::vector<key_descriptor> xs;
  xs.emplace_back(string_key(
    "cafray.role", &rc::role, "string \"\", \"head\" or \"node\"",
    "\"\" runs the embedded runtime alone; \"head\" also accepts nodes and "
    "drivers at host:port; \"node\" joins the head at cafray.address.",
    [](const std::string& x) {
      return x.empty() || x == "head" || x == "node"
               ? std::string{}
               : std::string{"expected \"\", \"head\" or \"node\""};
    }));
  xs.emplace_back(string_key(
    "cafray.address", &rc::address, "string \"host:port\" or \"\"",
    "The head's address, for a node (role \"node\").", check_address));
  xs.emplace_back(string_key(
    "cafray.host", &rc::host, "string (a host name or IP address)",
    "Address a head or node accepts cluster connections on.",
    [](const std::string& x) {
      return x.empty() ? std::string{"must not be empty"} : std::string{};
    }));
  xs.emplace_back(integer_key("cafray.port", &rc::port, 0, 65535,
                              "Port a head or node accepts cluster "
                              "connections on; 0 picks a free one."));
  xs.emplace_back(bool_key("cafray.worker-processes",
                           &rc::worker_processes,
                           "Head and node run tasks in worker processes "
                           "(started on demand, replaced when they die); "
                           "false runs them on threads of caf-node."));
  xs.emplace_back(integer_key("cafray.spill-backlog", &rc::spill_backlog, 0,
                              1 << 20,
                              "Tasks queued or running on a node beyond "
                              "which new ones go to the global scheduler; "
                              "0 means four per CPU."));
  xs.emplace_back(integer_key("cafray.num-cpus", &rc::num_cpus, 0, 4096,
                              "CPUs this node offers; 0 detects the "
                              "machine's."));
  xs.emplace_back(resources_key());
  xs.emplace_back(integer_key("cafray.num-workers", &rc::num_workers, 0, 4096,
                              "Workers started at init; 0 means one per "
                              "CPU."));
  xs.emplace_back(integer_key("cafray.max-workers", &rc::max_workers, 1, 4096,
                              "Most workers alive at once (blocked workers "
                              "lend their CPU to new ones)."));
  xs.emplace_back(integer_key("cafray.inline-threshold",
                              &rc::inline_threshold, 0, 64 * mib,
                              "Values up to this many bytes travel inline "
                              "in messages; larger ones go to the object "
                              "store."));
  xs.emplace_back(integer_key("cafray.object-store-mb", &rc::object_store_mb,
                              0, uint64_t{1} << 30,
                              "Capacity in MiB of a head's or node's "
                              "shared-memory object arena; 0 means 30% of "
                              "the machine's memory."));
  xs.emplace_back(integer_key("cafray.default-max-retries",
                              &rc::default_max_retries, 0, 1000,
                              "Default max_retries of tasks."));
  xs.emplace_back(integer_key("cafray.heartbeat-interval-ms",
                              &rc::heartbeat_interval_ms, 1, 60000,
                              "Raylet heartbeat interval in ms."));
  xs.emplace_back(integer_key("cafray.drain-timeout-ms",
                              &rc::drain_timeout_ms, 0, 3600000,
                              "On SIGTERM a node drains: running tasks get "
                              "this many ms to finish before it leaves."));
  xs.emplace_back(integer_key("cafray.gcs.shards", &rc::gcs_shards, 1, 256,
                              "Number of GCS shards."));
  xs.emplace_back(integer_key("cafray.gcs.replicas", &rc::gcs_replicas, 1, 16,
                              "Replicas per GCS shard; 1 is one LMDB "
                              "environment per shard, more make each shard "
                              "a chain that survives the loss of all but "
                              "one."));
  xs.emplace_back(string_key(
    "cafray.gcs.directory", &rc::gcs_directory, "string (a path) or \"\"",
    "Directory of the GCS's LMDB files; \"\" uses a temporary directory "
    "removed at shutdown, a path survives restarts."));
  xs.emplace_back(integer_key("cafray.gcs.map-size-mb", &rc::gcs_map_size_mb,
                              1, u32,
                              "Initial LMDB map size per shard in MiB; it "
                              "grows up to the maximum."));
  xs.emplace_back(integer_key("cafray.gcs.max-map-size-mb",
                              &rc::gcs_max_map_size_mb, 1, u32,
                              "Largest LMDB map per shard in MiB; past it "
                              "writes fail with gcs_full."));
  xs.emplace_back(integer_key("cafray.gcs.flush-interval-us",
                              &rc::gcs_flush_interval_us, 0, 10'000'000,
                              "Longest time a GCS write waits for its batch "
                              "to commit, in microseconds."));
  xs.emplace_back(integer_key("cafray.gcs.lineage-max-tasks",
                              &rc::gcs_lineage_max_tasks, 0, int64_t{1} << 50,
                              "Finished task records kept in the GCS's "
                              "lineage; older ones are dropped; 0 keeps "
                              "all."));
  xs.emplace_back(integer_key("cafray.gcs.lineage-max-age-s",
                              &rc::gcs_lineage_max_age_s, 0, int64_t{1} << 40,
                              "Seconds finished task records stay in the "
                              "GCS's lineage; 0 keeps them forever."));
  xs.emplace_back(integer_key("scheduler.max-threads", &rc::scheduler_threads,
                              0, 1024,
                              "CAF scheduler threads; 0 uses the machine's "
                              "core count."));
  xs.emplace_back(policy_key());
  return xs;
}

const key_descriptor* find_descriptor(const std::string& name) {
  for (auto& d : key_descriptors())
    if (d.name == name)
      return &d;
  return nullptr;
}

// True if some descriptor lives below `path` (a section such as cafray.gcs).
bool is_section(const std::string& path) {
  auto prefix = path + ".";
  for (auto& d : key_descriptors())
    if (d.name.compare(0, prefix.size(), prefix) == 0)
      return true;
  return false;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(const std::string& path) {
  std::string best;
  size_t best_distance = 4;
  auto consider = [&](const std::string& name) {
    auto d = edit_distance(path, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  };
  auto consider_sections = [&](const std::string& name) {
    consider(name);
    for (auto dot = name.find('.'); dot != std::string::npos;
         dot = name.find('.', dot + 1))
      consider(name.substr(0, dot));
  };
  for (auto& d : key_descriptors())
    consider_sections(d.name);
  for (auto& name : caf_option_names())
    consider_sections(name);
  return best.empty() ? std::string{} : " (did you mean '" + best + "'?)";
}

struct validator {
  const detail::settings_tree& tree;
  node_config& out;
  std::set<std::string> seen;

  std::string fail(const std::string& key, const std::string& reason) const {
    auto where = tree.origin_of(key);
    return (where.empty() ? std::string{"config"} : where) + ": key '" + key
           + "': " + reason;
  }

  // Returns an error message, or "" if every key below `dict` is valid.
  std::string walk(const caf::config_value::dictionary& dict,
                   const std::string& prefix) {
    for (auto& [key, value] : dict) {
      auto path = prefix.empty() ? key : prefix + "." + key;
      if (auto* d = find_descriptor(path)) {
        if (auto reason = d->apply(value, out); !reason.empty())
          return fail(path, reason);
        seen.insert(path);
        continue;
      }
      auto* sub = caf::get_if<caf::config_value::dictionary>(&value);
      if (prefix.empty() && path == "global" && sub != nullptr
          && !sub->empty()) {
        // CAF files keys that precede any section header under "global".
        auto first = sub->begin()->first;
        auto where = tree.origin_of("global." + first);
        return where + ": key '" + first
               + "': keys must follow a section header such as [cafray]";
      }
      if (sub != nullptr && (is_section(path) || prefix.empty())) {
        if (prefix.empty() && !is_section(path) && !is_caf_section(path))
          return fail(path, "unknown section" + suggestion(path)
                              + "; sections are [cafray], [cafray.gcs] "
                                "and CAF's own (scheduler, middleman, "
                                "logger, ...)");
        if (auto err = walk(*sub, path); !err.empty())
          return err;
        continue;
      }
      if (prefix.empty())
        return fail(path, "keys must follow a section header such as "
                          "[cafray]");
      if (is_caf_option(path)) {
        if (auto reason = check_caf_option(path, value); !reason.empty())
          return fail(path, reason + got(value));
        caf::put(out.caf, path, value);
        continue;
      }
      if (sub != nullptr)
        return fail(path, "unknown section" + suggestion(path));
      return fail(path, "unknown key" + suggestion(path));
    }
    return {};
  }

  // Rules that involve two keys blame the one that was set explicitly.
  std::string cross_check() const {
    auto& rc = out.runtime;
    if (rc.gcs_max_map_size_mb < rc.gcs_map_size_mb) {
      if (seen.count("cafray.gcs.max-map-size-mb") > 0)
        return fail("cafray.gcs.max-map-size-mb",
                    "must be at least cafray.gcs.map-size-mb ("
                      + std::to_string(rc.gcs_map_size_mb) + "), got "
                      + std::to_string(rc.gcs_max_map_size_mb));
      return fail("cafray.gcs.map-size-mb",
                  "must be at most cafray.gcs.max-map-size-mb ("
                    + std::to_string(rc.gcs_max_map_size_mb) + "), got "
                    + std::to_string(rc.gcs_map_size_mb));
    }
    if (rc.num_workers > rc.max_workers) {
      if (seen.count("cafray.max-workers") > 0)
        return fail("cafray.max-workers",
                    "must be at least cafray.num-workers ("
                      + std::to_string(rc.num_workers) + "), got "
                      + std::to_string(rc.max_workers));
      return fail("cafray.num-workers",
                  "must be at most cafray.max-workers ("
                    + std::to_string(rc.max_workers) + "), got "
                    + std::to_string(rc.num_workers));
    }
    return {};
  }
};

caf::error config_error(std::string message) {
  return make_error(errc::invalid_config, std::move(message));
}

// Applies one `--section.key=value` argument to `tree`.
std::string apply_override(const std::string& arg, detail::settings_tree& tree) {
  auto text = arg;
  if (text.compare(0, 2, "--") == 0)
    text.erase(0, 2);
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return "command line: argument '" + arg
           + "': expected --section.key=value";
  auto key = text.substr(0, eq);
  auto raw = text.substr(eq + 1);
  auto origin = "command line (" + arg + ")";
  caf::config_value value;
  auto* d = find_descriptor(key);
  if (d != nullptr && d->verbatim && !raw.empty() && raw.front() != '"') {
    // Like CAF: string options take unquoted text on the command line.
    value = caf::config_value{raw};
  } else if (d == nullptr && is_caf_option(key)) {
    if (auto parsed = parse_caf_option(key, raw))
      value = std::move(*parsed);
    else
      return "command line: key '" + key + "': expected "
             + caf_option_type(key) + ", got \"" + raw + "\"";
  } else if (!detail::read_value_text(raw, value)) {
    value = caf::config_value{raw};
  }
  detail::put_value(tree, key, std::move(value), "command line");
  return {};
}

caf::expected<node_config>
validate(const detail::settings_tree& tree) {
  node_config result;
  validator v{tree, result, {}};
  if (auto err = v.walk(tree.root, ""); !err.empty())
    return config_error(std::move(err));
  if (auto err = v.cross_check(); !err.empty())
    return config_error(std::move(err));
  return result;
}

caf::expected<node_config>
finish(detail::settings_tree& tree, const std::vector<std::string>& overrides) {
  for (auto& arg : overrides)
    if (auto err = apply_override(arg, tree); !err.empty())
      return config_error(std::move(err));
  return validate(tree);
}

} // namespace

const std::vector<key_descriptor>& key_descriptors() {
  static const auto table = make_descriptors();
  return table;
}

caf::expected<node_config>
parse_config(const std::string& text, const std::string& origin,
             const std::vector<std::string>& overrides) {
  detail::settings_tree tree;
  std::string err;
  if (!detail::read_config_text(text, origin, tree, err))
    return config_error(std::move(err));
  return finish(tree, overrides);
}

caf::expected<node_config>
load_config(const std::string& path,
            const std::vector<std::string>& overrides) {
  if (path.empty()) {
    detail::settings_tree tree;
    return finish(tree, overrides);
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return config_error(path + ": cannot open config file: "
                        + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    return config_error(path + ": cannot read config file: "
                        + std::strerror(errno));
  return parse_config(buf.str(), path, overrides);
}

std::string message_of(const caf::error& err) {
  if (code_of(err) == errc::invalid_config && err.context().size() == 1
      && err.context().match_element<std::string>(0))
    return err.context().get_as<std::string>(0);
  return render(err);
}

} // namespace cafray::node
