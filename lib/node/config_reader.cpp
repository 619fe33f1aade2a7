#include "node/config_reader.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include <caf/detail/parser/read_ini.hpp>
#include <caf/parser_state.hpp>
#include <caf/pec.hpp>

// CAF's own INI grammar (caf/detail/parser/read_ini.hpp) does the parsing, so
// caf-node reads exactly the syntax CAF documents. CAF's consumers, though,
// overwrite repeated keys silently and forget where a key came from; these
// consumers keep both, so that every later error can name its line.

namespace cafray::node::detail {

namespace {

using state_type = caf::parser_state<const char*>;

struct read_context {
  const state_type* ps = nullptr;
  std::string origin;
  settings_tree* out = nullptr;
  std::string error;   // first non-syntax error (a repeated key)
  std::map<std::string, int32_t> latest_line; // key -> line it was last set
  int32_t last_key_line = 0;
  std::string last_key;

  std::string where(int32_t line) const {
    return origin + ":" + std::to_string(line);
  }

  // CAF's parser_state counts a '\n' as the first character of the next
  // line, so compute positions from the offset instead.
  int32_t line() const {
    return 1 + static_cast<int32_t>(std::count(begin, ps->i, '\n'));
  }

  int32_t column() const {
    auto i = ps->i;
    while (i != begin && *(i - 1) != '\n')
      --i;
    return 1 + static_cast<int32_t>(ps->i - i);
  }

  // Whether the parser is on a "[section]" line.
  bool in_header() const {
    auto i = ps->i;
    while (i != begin && *(i - 1) != '\n')
      --i;
    while (i != ps->i && (*i == ' ' || *i == '\t'))
      ++i;
    return i != ps->i && *i == '[';
  }

  const char* begin = nullptr;
};

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Merges `from` into `into`; sections may repeat ([cafray] and [cafray.gcs]),
// plain keys may not. Returns the first repeated key, or an empty string.
std::string merge(caf::config_value::dictionary& into,
                  caf::config_value::dictionary&& from,
                  const std::string& prefix) {
  for (auto& [key, value] : from) {
    auto path = join(prefix, key);
    auto i = into.find(key);
    if (i == into.end()) {
      into.emplace(key, std::move(value));
      continue;
    }
    auto* lhs = caf::get_if<caf::config_value::dictionary>(&i->second);
    auto* rhs = caf::get_if<caf::config_value::dictionary>(&value);
    if (lhs == nullptr || rhs == nullptr)
      return path;
    if (auto dup = merge(*lhs, std::move(*rhs), path); !dup.empty())
      return dup;
  }
  return {};
}

class map_consumer;
class list_consumer;

class consumer_base {
public:
  consumer_base(read_context& ctx, consumer_base* parent)
    : ctx_(ctx), parent_(parent) {
    // nop
  }

  consumer_base(const consumer_base&) = delete;
  consumer_base& operator=(const consumer_base&) = delete;
  virtual ~consumer_base() = default;

  virtual void value_impl(caf::config_value&& x) = 0;

  /// Dotted path of the value currently being read.
  virtual std::string child_path() const = 0;

  template <class T>
  void value(T&& x) {
    value_impl(caf::config_value{std::forward<T>(x)});
  }

  map_consumer begin_map();
  list_consumer begin_list();

protected:
  read_context& ctx_;
  consumer_base* parent_;
};

class map_consumer : public consumer_base {
public:
  map_consumer(read_context& ctx, consumer_base* parent, std::string path)
    : consumer_base(ctx, parent), path_(std::move(path)) {
    // nop
  }

  void key(std::string name) {
    key_ = std::move(name);
    auto path = join(path_, key_);
    key_line_ = ctx_.line();
    if (!ctx_.in_header()) {
      ctx_.last_key = path;
      ctx_.last_key_line = key_line_;
    }
    ctx_.out->origins.emplace(path, ctx_.where(key_line_));
    ctx_.latest_line[path] = key_line_;
  }

  void value_impl(caf::config_value&& x) override {
    caf::config_value::dictionary tmp;
    tmp.emplace(key_, std::move(x));
    auto dup = merge(xs_, std::move(tmp), path_);
    if (!dup.empty() && ctx_.error.empty())
      ctx_.error = ctx_.where(ctx_.latest_line[dup]) + ": key '" + dup
                   + "': set twice (first at "
                   + ctx_.out->origin_of(dup) + ")";
  }

  std::string child_path() const override {
    return join(path_, key_);
  }

  void end_map() {
    if (parent_ != nullptr)
      parent_->value_impl(caf::config_value{std::move(xs_)});
  }

  caf::config_value::dictionary& result() {
    return xs_;
  }

private:
  std::string path_;
  std::string key_;
  int32_t key_line_ = 0;
  caf::config_value::dictionary xs_;
};

class list_consumer : public consumer_base {
public:
  list_consumer(read_context& ctx, consumer_base* parent, std::string path)
    : consumer_base(ctx, parent), path_(std::move(path)) {
    // nop
  }

  void value_impl(caf::config_value&& x) override {
    xs_.emplace_back(std::move(x));
  }

  std::string child_path() const override {
    return path_;
  }

  void end_list() {
    parent_->value_impl(caf::config_value{std::move(xs_)});
  }

private:
  std::string path_;
  caf::config_value::list xs_;
};

map_consumer consumer_base::begin_map() {
  return map_consumer{ctx_, this, child_path()};
}

list_consumer consumer_base::begin_list() {
  return list_consumer{ctx_, this, child_path()};
}

// Receives a single value (command-line overrides).
class value_consumer : public consumer_base {
public:
  using consumer_base::consumer_base;

  void value_impl(caf::config_value&& x) override {
    result = std::move(x);
  }

  std::string child_path() const override {
    return {};
  }

  caf::config_value result;
};

std::string describe(caf::pec code, const state_type& ps,
                     const std::string& before) {
  using caf::pec;
  switch (code) {
    case pec::unexpected_newline: {
      if (std::count(before.begin(), before.end(), '"') % 2 == 1)
        return "unexpected end of line inside a string";
      auto eq = before.find('=');
      if (eq != std::string::npos
          && before.find_first_not_of(" \t", eq + 1) == std::string::npos)
        return "missing value";
      return "unexpected end of line";
    }
    case pec::unexpected_character: {
      auto c = ps.current();
      if (c == '\n')
        return "unexpected end of line";
      if (c == '\0')
        return "unexpected end of file";
      if (std::isprint(static_cast<unsigned char>(c)))
        return std::string{"unexpected character '"} + c + "'";
      return "unexpected character (code " + std::to_string(int{c}) + ")";
    }
    case pec::unexpected_eof:
      return "unexpected end of file";
    case pec::illegal_escape_sequence:
      return "illegal escape sequence in a string";
    case pec::too_many_characters:
      return "atom longer than 10 characters";
    case pec::integer_overflow:
      return "integer too large";
    case pec::integer_underflow:
      return "integer too small";
    case pec::timespan_overflow:
      return "timespan too large";
    case pec::fractional_timespan:
      return "fractional timespan";
    case pec::exponent_overflow:
    case pec::exponent_underflow:
      return "exponent out of range";
    default:
      return caf::to_string(code);
  }
}

// The text of the current line up to the parser's position.
std::string line_before(const std::string& text, const state_type& ps) {
  auto pos = static_cast<size_t>(ps.i - text.data());
  auto line_begin = pos == 0 ? std::string::npos : text.rfind('\n', pos - 1);
  line_begin = line_begin == std::string::npos ? 0 : line_begin + 1;
  return text.substr(line_begin, pos - line_begin);
}

// A hint for the two mistakes operators make most.
std::string hint(const std::string& before, const state_type& ps) {
  auto eq = before.find('=');
  if (eq == std::string::npos) {
    if (ps.current() == '.')
      return " (a key cannot contain '.': put it in a section such as "
             "[cafray.gcs])";
    return {};
  }
  auto value_begin = before.find_first_not_of(" \t", eq + 1);
  if (value_begin != std::string::npos
      && std::isalpha(static_cast<unsigned char>(before[value_begin])))
    return " (strings must be double-quoted)";
  if (value_begin == std::string::npos
      && std::isalpha(static_cast<unsigned char>(ps.current())))
    return " (strings must be double-quoted)";
  return {};
}

} // namespace

std::string settings_tree::origin_of(const std::string& key) const {
  auto path = key;
  for (;;) {
    if (auto i = origins.find(path); i != origins.end())
      return i->second;
    auto dot = path.rfind('.');
    if (dot == std::string::npos)
      break;
    path.erase(dot);
  }
  // Set only below `key`, e.g. by --cafray.resources.gpu=1.
  auto prefix = key + ".";
  if (auto i = origins.lower_bound(prefix);
      i != origins.end() && i->first.compare(0, prefix.size(), prefix) == 0)
    return i->second;
  return {};
}

bool read_config_text(const std::string& input, const std::string& origin,
                      settings_tree& out, std::string& error) {
  // CAF's grammar knows only '\n'.
  std::string text;
  text.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i)
    if (!(input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n'))
      text += input[i];
  state_type ps{text.data(), text.data() + text.size()};
  read_context ctx;
  ctx.ps = &ps;
  ctx.begin = text.data();
  ctx.origin = origin;
  ctx.out = &out;
  map_consumer root{ctx, nullptr, ""};
  caf::detail::parser::read_ini(ps, root);
  if (ps.code != caf::pec::success) {
    auto line = ctx.line();
    error = origin + ":" + std::to_string(line) + ":"
            + std::to_string(ctx.column()) + ": syntax error";
    if (!ctx.last_key.empty() && ctx.last_key_line == line)
      error += " at key '" + ctx.last_key + "'";
    auto before = line_before(text, ps);
    error += ": " + describe(ps.code, ps, before) + hint(before, ps);
    return false;
  }
  if (!ctx.error.empty()) {
    error = ctx.error;
    return false;
  }
  auto dup = merge(out.root, std::move(root.result()), "");
  if (!dup.empty()) {
    error = origin + ": key '" + dup + "': set twice";
    return false;
  }
  return true;
}

bool read_value_text(const std::string& text, caf::config_value& out) {
  state_type ps{text.data(), text.data() + text.size()};
  read_context ctx;
  ctx.ps = &ps;
  ctx.begin = text.data();
  settings_tree scratch;
  ctx.out = &scratch;
  value_consumer consumer{ctx, nullptr};
  caf::detail::parser::read_ini_value(ps, consumer);
  if (ps.code != caf::pec::success)
    return false;
  out = std::move(consumer.result);
  return true;
}

void put_value(settings_tree& out, const std::string& key,
               caf::config_value value, const std::string& origin) {
  auto* dict = &out.root;
  size_t begin = 0;
  for (;;) {
    auto dot = key.find('.', begin);
    if (dot == std::string::npos)
      break;
    auto part = key.substr(begin, dot - begin);
    auto& slot = (*dict)[part];
    if (!caf::holds_alternative<caf::config_value::dictionary>(slot))
      slot = caf::config_value{caf::config_value::dictionary{}};
    dict = &caf::get<caf::config_value::dictionary>(slot);
    begin = dot + 1;
  }
  (*dict)[key.substr(begin)] = std::move(value);
  // The override replaces everything below `key`, origins included.
  auto prefix = key + ".";
  for (auto i = out.origins.lower_bound(prefix);
       i != out.origins.end() && i->first.compare(0, prefix.size(), prefix) == 0;)
    i = out.origins.erase(i);
  out.origins[key] = origin;
}

} // namespace cafray::node::detail
