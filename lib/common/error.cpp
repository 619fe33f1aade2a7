#include "common/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace cafray {

const char* to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
#define CAFRAY_ERROR(name, code, description)                                  \
  case errc::name:                                                             \
    return #name;
#include "common/error_list.def"
#undef CAFRAY_ERROR
  }
  return "unknown";
}

const char* description(errc x) {
  switch (x) {
    case errc::none:
      return "no error";
#define CAFRAY_ERROR(name, code, description)                                  \
  case errc::name:                                                             \
    return description;
#include "common/error_list.def"
#undef CAFRAY_ERROR
  }
  return "unknown error";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

errc code_of(const caf::error& err) {
  if (!err)
    return errc::none;
  if (err.category() == error_category)
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return errc::timeout;
  return errc::runtime_error;
}

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  std::string result;
  if (err.category() == error_category) {
    auto x = static_cast<errc>(err.code());
    result = to_string(x);
    result += ": ";
    result += description(x);
  } else {
    result = caf::to_string(err.category());
    result += ": code ";
    result += std::to_string(err.code());
  }
  auto& ctx = err.context();
  if (!ctx.empty()) {
    result += " (";
    for (size_t i = 0; i < ctx.size(); ++i) {
      if (i > 0)
        result += ", ";
      if (ctx.match_element<std::string>(i))
        result += ctx.get_as<std::string>(i);
      else
        result += ctx.stringify(i);
    }
    result += ")";
  }
  return result;
}

} // namespace cafray
