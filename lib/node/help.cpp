#include <iomanip>
#include <sstream>

#include "node/caf_options.hpp"
#include "node/node_config.hpp"

namespace cafray::node {

namespace {

void render_string(std::ostream& os, const std::string& str) {
  os << '"';
  for (auto c : str) {
    switch (c) {
      case '"':
        os << "\\\"";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '\n':
        os << "\\n";
        break;
      case '\t':
        os << "\\t";
        break;
      default:
        os << c;
    }
  }
  os << '"';
}

// In the largest unit CAF's parser reads back exactly (ns, us, ms, s, min).
void render_timespan(std::ostream& os, caf::timespan t) {
  auto n = t.count();
  static constexpr std::pair<int64_t, const char*> units[] = {
    {60'000'000'000, "min"}, {1'000'000'000, "s"}, {1'000'000, "ms"},
    {1'000, "us"}};
  for (auto [factor, suffix] : units)
    if (n != 0 && n % factor == 0) {
      os << n / factor << suffix;
      return;
    }
  os << n << "ns";
}

void render(std::ostream& os, const caf::config_value& x) {
  if (auto* str = caf::get_if<std::string>(&x)) {
    render_string(os, *str);
  } else if (auto* i = caf::get_if<int64_t>(&x)) {
    os << *i;
  } else if (auto* b = caf::get_if<bool>(&x)) {
    os << (*b ? "true" : "false");
  } else if (auto* d = caf::get_if<double>(&x)) {
    std::ostringstream tmp;
    tmp << std::setprecision(17) << *d;
    auto str = tmp.str();
    if (str.find_first_of(".eEn") == std::string::npos)
      str += ".0";
    os << str;
  } else if (auto* a = caf::get_if<caf::atom_value>(&x)) {
    os << '\'' << caf::to_string(*a) << '\'';
  } else if (auto* t = caf::get_if<caf::timespan>(&x)) {
    render_timespan(os, *t);
  } else if (auto* u = caf::get_if<caf::uri>(&x)) {
    os << '<' << caf::to_string(*u) << '>';
  } else if (auto* xs = caf::get_if<caf::config_value::list>(&x)) {
    os << '[';
    for (size_t i = 0; i < xs->size(); ++i) {
      if (i > 0)
        os << ", ";
      render(os, (*xs)[i]);
    }
    os << ']';
  } else if (auto* m = caf::get_if<caf::config_value::dictionary>(&x)) {
    os << '{';
    bool first = true;
    for (auto& [key, value] : *m) {
      os << (first ? "" : ", ") << key << " = ";
      render(os, value);
      first = false;
    }
    os << '}';
  } else {
    os << caf::to_string(x);
  }
}

void wrap(std::ostream& os, const std::string& text,
          const std::string& indent) {
  std::istringstream words{text};
  std::string line = indent;
  std::string word;
  while (words >> word) {
    if (line.size() > indent.size() && line.size() + 1 + word.size() > 79) {
      os << line << "\n";
      line = indent;
    }
    if (line.size() > indent.size())
      line += ' ';
    line += word;
  }
  os << line << "\n";
}

} // namespace

std::string render_value(const caf::config_value& x) {
  std::ostringstream os;
  render(os, x);
  return os.str();
}

std::string render_help() {
  std::ostringstream os;
  os << "caf-node: runs a caf-ray node (for now the embedded runtime).\n"
        "\n"
        "usage: caf-node [--config FILE] [--check] [--section.key=value ...]\n"
        "\n"
        "  --config FILE    read FILE (CAF's config-file format: [section]\n"
        "                   headers, key = value, strings double-quoted)\n"
        "  --check          validate the configuration, print \"config OK\"\n"
        "                   and exit\n"
        "  --help, -h       print this text\n"
        "  --section.key=value\n"
        "                   set a key; wins over the file\n"
        "\n"
        "Keys (config/reference.ini documents each with its default):\n";
  for (auto& d : key_descriptors()) {
    os << "\n  " << d.name << "  (" << d.type << "; default " << d.default_value
       << ")\n";
    wrap(os, d.meaning, "      ");
  }
  os << "\nCAF's own options are passed through and checked against CAF's "
        "types:\n";
  std::string line = " ";
  for (auto& name : caf_option_names()) {
    bool known = false;
    for (auto& d : key_descriptors())
      known = known || d.name == name;
    if (known)
      continue;
    if (line.size() + name.size() + 1 > 78) {
      os << line << "\n";
      line = " ";
    }
    line += " " + name;
  }
  os << line << "\n";
  return os.str();
}

} // namespace cafray::node
