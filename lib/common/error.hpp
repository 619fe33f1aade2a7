#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace cafray {

/// Every error caf-ray reports, generated from `error_list.def`.
enum class errc : uint8_t {
  none = 0,
#define CAFRAY_ERROR(name, code, description) name = code,
#include "common/error_list.def"
#undef CAFRAY_ERROR
};

/// The CAF error category of caf-ray errors.
constexpr caf::atom_value error_category = caf::atom("cafray");

const char* to_string(errc x);
const char* description(errc x);

caf::error make_error(errc x);

template <class T, class... Ts>
caf::error make_error(errc x, T&& y, Ts&&... ys) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::forward<T>(y),
                                      std::forward<Ts>(ys)...)};
}

/// Returns the caf-ray code of `err`, or `errc::runtime_error` for errors of
/// other categories, `errc::none` for no error.
errc code_of(const caf::error& err);

/// "name: description (context)" for any error, caf-ray's or CAF's.
std::string render(const caf::error& err);

} // namespace cafray
