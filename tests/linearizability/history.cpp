#include "history.hpp"

#include <charconv>
#include <istream>
#include <ostream>
#include <sstream>

namespace cafray::lincheck {

namespace {

constexpr const char* absent_token = "-";

template <class T>
bool parse_number(const std::string& token, T& result) {
  auto end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, result);
  return ec == std::errc{} && ptr == end;
}

/// Parses one non-empty, non-comment line; returns an error or "".
std::string parse_line(const std::string& line, operation& op) {
  std::istringstream fields{line};
  std::string client, kind, value, invoke, complete, extra;
  if (!(fields >> client >> op.key >> kind >> value >> invoke >> complete))
    return "expected <client> <key> <kind> <value> <invoke> <complete>";
  if (fields >> extra)
    return "unexpected field '" + extra + "'";
  if (!parse_number(client, op.client))
    return "bad client '" + client + "'";
  if (kind == "write")
    op.kind = op_kind::write;
  else if (kind == "read")
    op.kind = op_kind::read;
  else
    return "kind must be read or write, not '" + kind + "'";
  if (value != absent_token)
    op.value = value;
  else if (op.kind == op_kind::write)
    return "a write cannot write '-', which means absent";
  if (!parse_number(invoke, op.invoke))
    return "bad invocation time '" + invoke + "'";
  if (complete == "?") {
    op.result = outcome::unknown;
  } else if (complete == "fail") {
    op.result = outcome::failed;
  } else {
    op.result = outcome::ok;
    if (!parse_number(complete, op.complete))
      return "bad completion time '" + complete + "'";
    if (op.complete < op.invoke)
      return "completes before it is invoked";
  }
  return {};
}

} // namespace

parsed_history parse_history(std::istream& in) {
  parsed_history result;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#')
      continue;
    operation op;
    if (auto error = parse_line(line, op); !error.empty()) {
      result.error = "line " + std::to_string(number) + ": " + error;
      result.value.operations.clear();
      return result;
    }
    result.value.operations.push_back(std::move(op));
  }
  return result;
}

std::string to_line(const operation& op) {
  std::string line = std::to_string(op.client) + ' ' + op.key + ' ';
  line += op.kind == op_kind::write ? "write " : "read ";
  line += op.value ? *op.value : absent_token;
  line += ' ' + std::to_string(op.invoke) + ' ';
  switch (op.result) {
  case outcome::ok:
    line += std::to_string(op.complete);
    break;
  case outcome::unknown:
    line += '?';
    break;
  case outcome::failed:
    line += "fail";
    break;
  }
  return line;
}

void write_history(std::ostream& out, const history& h) {
  for (auto& op : h.operations)
    out << to_line(op) << '\n';
}

std::string describe(const operation& op) {
  std::string text = "client " + std::to_string(op.client) + ": ";
  auto value = op.value ? *op.value : std::string{"absent"};
  if (op.kind == op_kind::write)
    text += "write " + op.key + " := " + value;
  else
    text += "read " + op.key + " -> " + value;
  text += " [" + std::to_string(op.invoke) + ", ";
  switch (op.result) {
  case outcome::ok:
    text += std::to_string(op.complete) + "]";
    break;
  case outcome::unknown:
    text += "no answer]";
    break;
  case outcome::failed:
    text += "failed]";
    break;
  }
  return text;
}

} // namespace cafray::lincheck
