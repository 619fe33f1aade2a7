#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "node/config_reader.hpp"
#include "node/node_config.hpp"

using namespace cafray;
using namespace cafray::node;

namespace {

// The message of a failed load, or "OK".
std::string error_of(const caf::expected<node_config>& x) {
  if (x)
    return "OK";
  CHECK_EQ(code_of(x.error()), errc::invalid_config);
  return message_of(x.error());
}

std::string parse_error(const std::string& text,
                        const std::vector<std::string>& overrides = {}) {
  return error_of(parse_config(text, "config/bad.ini", overrides));
}

std::string config_dir() {
  return CAFRAY_CONFIG_DIR;
}

// Leaves of the tree: values, or maps that are one key (cafray.resources).
void collect_keys(const caf::config_value::dictionary& dict,
                  const std::string& prefix, std::set<std::string>& out) {
  for (auto& [key, value] : dict) {
    auto path = prefix.empty() ? key : prefix + "." + key;
    auto* sub = caf::get_if<caf::config_value::dictionary>(&value);
    if (sub != nullptr && path != "cafray.resources")
      collect_keys(*sub, path, out);
    else
      out.insert(path);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

TEST_CASE("a valid file gives exact values; unset keys keep defaults") {
  auto cfg = parse_config(R"(
; comment
[cafray]
num-cpus = 8
resources = {special = 1, gpu = 2}
num-workers = 4
max-workers = 32
inline-threshold = 4096
default-max-retries = 5
heartbeat-interval-ms = 250
drain-timeout-ms = 1500

[cafray.gcs]
shards = 4
replicas = 3
directory = "/var/lib/cafray"
map-size-mb = 128
max-map-size-mb = 1024
flush-interval-us = 500
lineage-max-tasks = 100000
lineage-max-age-s = 3600

[scheduler]
max-threads = 2
policy = 'sharing'

[middleman]
heartbeat-interval = 100ms
)",
                          "config/good.ini");
  REQUIRE_MESSAGE(cfg, message_of(cfg.error()));
  auto& rc = cfg->runtime;
  CHECK_EQ(rc.address, "");
  CHECK_EQ(rc.num_cpus, 8u);
  CHECK_EQ(rc.resources,
           std::map<std::string, int64_t>{{"gpu", 2}, {"special", 1}});
  CHECK_EQ(rc.num_workers, 4u);
  CHECK_EQ(rc.max_workers, 32u);
  CHECK_EQ(rc.inline_threshold, 4096u);
  CHECK_EQ(rc.default_max_retries, 5);
  CHECK_EQ(rc.heartbeat_interval_ms, 250u);
  CHECK_EQ(rc.drain_timeout_ms, 1500u);
  CHECK_EQ(rc.gcs_shards, 4u);
  CHECK_EQ(rc.gcs_replicas, 3u);
  CHECK_EQ(rc.gcs_lineage_max_tasks, 100000u);
  CHECK_EQ(rc.gcs_lineage_max_age_s, 3600u);
  CHECK_EQ(rc.gcs_directory, "/var/lib/cafray");
  CHECK_EQ(rc.gcs_map_size_mb, 128u);
  CHECK_EQ(rc.gcs_max_map_size_mb, 1024u);
  CHECK_EQ(rc.gcs_flush_interval_us, 500u);
  CHECK_EQ(rc.scheduler_threads, 2u);
  CHECK_EQ(cfg->runtime.scheduler_policy, "sharing");
  // CAF's other sections are passed through, with CAF's types.
  CHECK_EQ(caf::get<caf::timespan>(cfg->caf, "middleman.heartbeat-interval"),
           caf::timespan{std::chrono::milliseconds{100}});
  CHECK_EQ(caf::get_if(&cfg->caf, "scheduler.max-threads"), nullptr);
}

TEST_CASE("an empty file and no file give the defaults") {
  for (auto& cfg : {parse_config("", "config/empty.ini"), load_config("")}) {
    REQUIRE(cfg);
    auto& rc = cfg->runtime;
    runtime_config defaults;
    CHECK_EQ(rc.address, defaults.address);
    CHECK_EQ(rc.num_cpus, 0u);
    CHECK(rc.resources.empty());
    CHECK_EQ(rc.gcs_shards, 1u);
    CHECK_EQ(rc.gcs_replicas, 1u);
    CHECK_EQ(rc.gcs_lineage_max_tasks, 0u);
    CHECK_EQ(rc.gcs_lineage_max_age_s, 0u);
    CHECK_EQ(rc.max_workers, 64u);
    CHECK_EQ(rc.gcs_max_map_size_mb, 16384u);
    CHECK(cfg->caf.empty());
  }
}

TEST_CASE("a command-line override wins over the file") {
  auto text = "[cafray]\nnum-cpus = 2\nresources = {a = 1, b = 2}\n"
              "[cafray.gcs]\nshards = 2\ndirectory = \"/tmp/a\"\n";
  auto cfg = parse_config(text, "config/a.ini",
                          {"--cafray.gcs.shards=3", "--cafray.num-cpus=4",
                           "--cafray.num-cpus=5", "--cafray.gcs.directory=/x y",
                           "--cafray.address=127.0.0.1:6379",
                           "--scheduler.policy=sharing",
                           "--middleman.workers=0"});
  REQUIRE_MESSAGE(cfg, message_of(cfg.error()));
  CHECK_EQ(cfg->runtime.gcs_shards, 3u);
  CHECK_EQ(cfg->runtime.num_cpus, 5u); // the later argument wins
  CHECK_EQ(cfg->runtime.gcs_directory, "/x y");
  CHECK_EQ(cfg->runtime.address, "127.0.0.1:6379");
  CHECK_EQ(cfg->runtime.resources,
           std::map<std::string, int64_t>{{"a", 1}, {"b", 2}});
  CHECK_EQ(cfg->runtime.scheduler_policy, "sharing");
  CHECK_EQ(caf::get<uint64_t>(cfg->caf, "middleman.workers"), 0u);
  SUBCASE("a whole map replaces the file's map") {
    auto cfg2 = parse_config(text, "config/a.ini",
                             {"--cafray.resources={gpu=1}"});
    REQUIRE(cfg2);
    CHECK_EQ(cfg2->runtime.resources,
             std::map<std::string, int64_t>{{"gpu", 1}});
  }
  SUBCASE("a dotted key sets one resource") {
    auto cfg2 = parse_config(text, "config/a.ini",
                             {"--cafray.resources.b=7"});
    REQUIRE(cfg2);
    CHECK_EQ(cfg2->runtime.resources,
             std::map<std::string, int64_t>{{"a", 1}, {"b", 7}});
  }
}

TEST_CASE("unknown keys and sections are errors naming file, line and key") {
  CHECK_EQ(parse_error("[cafray]\nnum-cpu = 4\n"),
           "config/bad.ini:2: key 'cafray.num-cpu': unknown key "
           "(did you mean 'cafray.num-cpus'?)");
  CHECK_EQ(parse_error("[cafray.gcs]\nshards = 1\nwitnesses = 3\n"),
           "config/bad.ini:3: key 'cafray.gcs.witnesses': unknown key");
  CHECK_EQ(parse_error("[cafary]\nnum-cpus = 1\n"),
           "config/bad.ini:1: key 'cafary': unknown section (did you mean "
           "'cafray'?); sections are [cafray], [cafray.gcs] and CAF's own "
           "(scheduler, middleman, logger, ...)");
  CHECK_EQ(parse_error("[middleman]\nheartbeat = 100ms\n"),
           "config/bad.ini:2: key 'middleman.heartbeat': unknown key");
  CHECK_EQ(parse_error("num-cpus = 1\n[cafray]\n"),
           "config/bad.ini:1: key 'num-cpus': keys must follow a section "
           "header such as [cafray]");
  CHECK_EQ(parse_error("", {"--cafray.gcs.shardz=2"}),
           "command line: key 'cafray.gcs.shardz': unknown key "
           "(did you mean 'cafray.gcs.shards'?)");
}

TEST_CASE("wrong types are errors") {
  CHECK_EQ(parse_error("[cafray.gcs]\nshards = \"abc\"\n"),
           "config/bad.ini:2: key 'cafray.gcs.shards': expected a positive "
           "integer, got \"abc\"");
  CHECK_EQ(parse_error("", {"--cafray.gcs.shards=abc"}),
           "command line: key 'cafray.gcs.shards': expected a positive "
           "integer, got \"abc\"");
  CHECK_EQ(parse_error("[cafray]\nnum-cpus = 2.5\n"),
           "config/bad.ini:2: key 'cafray.num-cpus': expected a non-negative "
           "integer, got 2.5");
  CHECK_EQ(parse_error("[cafray.gcs]\ndirectory = 5\n"),
           "config/bad.ini:2: key 'cafray.gcs.directory': expected a "
           "double-quoted string, got 5");
  CHECK_EQ(parse_error("[cafray]\nresources = [1, 2]\n"),
           "config/bad.ini:2: key 'cafray.resources': expected a map of "
           "resource names to whole units, e.g. {gpu = 1}, got [1, 2]");
  CHECK_EQ(parse_error("[middleman]\nheartbeat-interval = 5\n"),
           "config/bad.ini:2: key 'middleman.heartbeat-interval': expected "
           "timespan, got 5");
  CHECK_EQ(parse_error("[scheduler]\npolicy = 'fifo'\n"),
           "config/bad.ini:2: key 'scheduler.policy': expected 'yielding', "
           "'stealing' or 'sharing', got 'fifo'");
}

TEST_CASE("impossible values are errors") {
  CHECK_EQ(parse_error("[cafray]\nnum-cpus = -2\n"),
           "config/bad.ini:2: key 'cafray.num-cpus': expected a non-negative "
           "integer, got -2");
  CHECK_EQ(parse_error("[cafray.gcs]\nshards = 0\n"),
           "config/bad.ini:2: key 'cafray.gcs.shards': expected a positive "
           "integer, got 0");
  CHECK_EQ(parse_error("[cafray.gcs]\nshards = 1000\n"),
           "config/bad.ini:2: key 'cafray.gcs.shards': must be at most 256, "
           "got 1000");
  CHECK_EQ(parse_error("[cafray]\ndrain-timeout-ms = 3600001\n"),
           "config/bad.ini:2: key 'cafray.drain-timeout-ms': must be at most "
           "3600000, got 3600001");
  CHECK_EQ(parse_error("", {"--cafray.drain-timeout-ms=-1"}),
           "command line: key 'cafray.drain-timeout-ms': expected a "
           "non-negative integer, got -1");
  CHECK_EQ(parse_error("[cafray.gcs]\nreplicas = 0\n"),
           "config/bad.ini:2: key 'cafray.gcs.replicas': expected a positive "
           "integer, got 0");
  CHECK_EQ(parse_error("[cafray.gcs]\nreplicas = 17\n"),
           "config/bad.ini:2: key 'cafray.gcs.replicas': must be at most 16, "
           "got 17");
  CHECK_EQ(parse_error("[cafray.gcs]\nmap-size-mb = 128\n"
                       "max-map-size-mb = 64\n"),
           "config/bad.ini:3: key 'cafray.gcs.max-map-size-mb': must be at "
           "least cafray.gcs.map-size-mb (128), got 64");
  CHECK_EQ(parse_error("[cafray.gcs]\nmap-size-mb = 20000\n"),
           "config/bad.ini:2: key 'cafray.gcs.map-size-mb': must be at most "
           "cafray.gcs.max-map-size-mb (16384), got 20000");
  CHECK_EQ(parse_error("[cafray]\nnum-workers = 8\nmax-workers = 4\n"),
           "config/bad.ini:3: key 'cafray.max-workers': must be at least "
           "cafray.num-workers (8), got 4");
  CHECK_EQ(parse_error("[cafray]\nresources = {gpu = -1}\n"),
           "config/bad.ini:2: key 'cafray.resources': resource 'gpu': "
           "expected a non-negative integer, got -1");
  CHECK_EQ(parse_error("[cafray]\nresources = {gpu = \"one\"}\n"),
           "config/bad.ini:2: key 'cafray.resources': resource 'gpu': "
           "expected a non-negative integer, got \"one\"");
  CHECK_EQ(parse_error("[cafray]\nresources = {CPU = 4}\n"),
           "config/bad.ini:2: key 'cafray.resources': resource 'CPU' is "
           "reserved: set CPUs with cafray.num-cpus");
  CHECK_EQ(parse_error("[cafray]\naddress = \"localhost\"\n"),
           "config/bad.ini:2: key 'cafray.address': expected \"host:port\" "
           "with a port in [1, 65535], got \"localhost\"");
  CHECK_EQ(parse_error("", {"--cafray.address=host:70000"}),
           "command line: key 'cafray.address': expected \"host:port\" with "
           "a port in [1, 65535], got \"host:70000\"");
  CHECK_EQ(parse_error("[scheduler]\nmax-threads = -1\n"),
           "config/bad.ini:2: key 'scheduler.max-threads': expected a "
           "non-negative integer, got -1");
  CHECK_EQ(parse_error("[middleman]\nworkers = -1\n"),
           "config/bad.ini:2: key 'middleman.workers': expected uint64, "
           "got -1");
}

TEST_CASE("malformed syntax is an error naming file, line, column and key") {
  CHECK_EQ(parse_error("[cafray]\nnum-cpus = four\n"),
           "config/bad.ini:2:13: syntax error at key 'cafray.num-cpus': "
           "unexpected character 'o' (strings must be double-quoted)");
  CHECK_EQ(parse_error("[cafray]\ngcs.shards = 4\n"),
           "config/bad.ini:2:4: syntax error: unexpected character '.' (a "
           "key cannot contain '.': put it in a section such as "
           "[cafray.gcs])");
  CHECK_EQ(parse_error("[cafray]\naddress = \"x\n"),
           "config/bad.ini:2:13: syntax error at key 'cafray.address': "
           "unexpected end of line inside a string");
  CHECK_EQ(parse_error("[cafray]\nnum-cpus =\n"),
           "config/bad.ini:2:11: syntax error at key 'cafray.num-cpus': "
           "missing value");
  CHECK_EQ(parse_error("[cafray\nnum-cpus = 1\n"),
           "config/bad.ini:1:8: syntax error: unexpected end of line");
  CHECK_EQ(parse_error("[cafray]\nresources = {gpu = 1\n"),
           "config/bad.ini:3:1: syntax error: unexpected end of file");
  CHECK_EQ(parse_error("[cafray]\nnum-cpus = 1\nnum-cpus = 2\n"),
           "config/bad.ini:3: key 'cafray.num-cpus': set twice (first at "
           "config/bad.ini:2)");
  CHECK_EQ(parse_error("", {"--cafray.num-cpus"}),
           "command line: argument '--cafray.num-cpus': expected "
           "--section.key=value");
}

TEST_CASE("files: a missing file and a real file are named by their path") {
  auto missing = load_config("/nonexistent/caf-ray.ini");
  CHECK_EQ(error_of(missing), "/nonexistent/caf-ray.ini: cannot open config "
                              "file: No such file or directory");
  auto path = std::string{"node_config_test.tmp.ini"};
  {
    std::ofstream out{path};
    out << "[cafray.gcs]\r\nshards = \"abc\"\r\n"; // CRLF is fine
  }
  CHECK_EQ(error_of(load_config(path)),
           path + ":2: key 'cafray.gcs.shards': expected a positive integer, "
                  "got \"abc\"");
  std::remove(path.c_str());
}

TEST_CASE("reference.ini covers exactly the key table, with defaults") {
  auto path = config_dir() + "/reference.ini";
  auto text = read_file(path);
  REQUIRE_FALSE(text.empty());
  detail::settings_tree tree;
  std::string err;
  REQUIRE_MESSAGE(detail::read_config_text(text, path, tree, err), err);
  std::set<std::string> in_file;
  collect_keys(tree.root, "", in_file);
  std::set<std::string> in_table;
  for (auto& d : key_descriptors())
    in_table.insert(d.name);
  CHECK_EQ(in_file, in_table);
  // Each key is set to its default...
  auto cfg = load_config(path);
  REQUIRE_MESSAGE(cfg, message_of(cfg.error()));
  for (auto& d : key_descriptors()) {
    auto* x = caf::get_if(&tree.root, d.name);
    REQUIRE_MESSAGE(x != nullptr, d.name);
    CHECK_MESSAGE(render_value(*x) == d.default_value, d.name);
  }
  // ... and preceded by its meaning as a comment.
  std::istringstream lines{text};
  std::string line, previous, section;
  std::set<std::string> documented;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.front() == '[') {
      section = line.substr(1, line.find(']') - 1);
    } else if (!line.empty() && line.front() != ';') {
      auto name = section + "." + line.substr(0, line.find(' '));
      for (auto& d : key_descriptors())
        if (d.name == name) {
          CHECK_EQ(previous, "; " + d.meaning);
          documented.insert(name);
        }
    }
    previous = line;
  }
  CHECK_EQ(documented, in_table);
}

TEST_CASE("--help lists every key with its type, default and meaning") {
  auto help = render_help();
  for (auto& d : key_descriptors()) {
    CHECK_MESSAGE(help.find("  " + d.name + "  (" + d.type + "; default "
                            + d.default_value + ")")
                    != std::string::npos,
                  d.name);
    // The meaning may be wrapped; its first word is on the next line.
    CHECK_MESSAGE(help.find(d.meaning.substr(0, d.meaning.find(' ')))
                    != std::string::npos,
                  d.name);
  }
  CHECK(help.find("middleman.heartbeat-interval") != std::string::npos);
}

TEST_CASE("embedded.ini is valid and runs the embedded runtime") {
  auto cfg = load_config(config_dir() + "/embedded.ini");
  REQUIRE_MESSAGE(cfg, message_of(cfg.error()));
  CHECK(cfg->runtime.address.empty());
  CHECK_EQ(cfg->runtime.num_cpus, 2u);
  CHECK_EQ(cfg->runtime.resources,
           std::map<std::string, int64_t>{{"special", 1}});
}
