#include "api/errors.hpp"

namespace cafray {

namespace {

std::string describe(const error_record& rec) {
  auto code = static_cast<errc>(rec.code);
  std::string result = to_string(code);
  result += " in ";
  result += rec.function.empty() ? std::string{"?"} : rec.function;
  if (!rec.type_name.empty()) {
    result += ": ";
    result += rec.type_name;
  }
  if (!rec.message.empty()) {
    result += ": ";
    result += rec.message;
  }
  return result;
}

} // namespace

task_error::task_error(error_record rec)
  : error(static_cast<errc>(rec.code), describe(rec)), rec_(std::move(rec)) {
}

void throw_payload_error(const object_payload& payload) {
  auto code = static_cast<errc>(payload.error_code);
  if (code == errc::actor_died)
    throw actor_died_error{payload.error};
  if (code == errc::timeout)
    throw timeout_error{payload.error.message};
  throw task_error{payload.error};
}

void throw_error(const caf::error& err) {
  auto code = code_of(err);
  if (code == errc::timeout)
    throw timeout_error{render(err)};
  if (code == errc::actor_died) {
    error_record rec;
    rec.code = static_cast<uint8_t>(code);
    rec.message = render(err);
    throw actor_died_error{rec};
  }
  throw error{code, render(err)};
}

} // namespace cafray
