#pragma once

#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/expected.hpp>

#include "common/error.hpp"

namespace cafray {

/// Encodes a GCS record (any type with `inspect`, carrying no actor handles)
/// into bytes with CAF's binary serializer.
template <class T>
std::string encode_record(const T& x) {
  std::vector<char> buf;
  buf.reserve(256);
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(const_cast<T&>(x)))
    return {};
  return std::string{buf.begin(), buf.end()};
}

/// Encodes fields one after the other: the same bytes as `encode_record` of
/// a struct whose `inspect` lists exactly these fields (CAF's binary format
/// has no framing), without building the struct first.
template <class... Ts>
std::string encode_fields(const Ts&... xs) {
  std::vector<char> buf;
  buf.reserve(256);
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(const_cast<Ts&>(xs)...))
    return {};
  return std::string{buf.begin(), buf.end()};
}

/// Decodes what `encode_record` wrote.
template <class T>
caf::expected<T> decode_record(const std::string& bytes) {
  T result;
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr),
                                  bytes.data(), bytes.size()};
  if (auto err = source(result))
    return make_error(errc::storage_error, "cannot decode record");
  return result;
}

} // namespace cafray
