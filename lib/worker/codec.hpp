#pragma once

#include <cstring>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/array.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "proto/blob.hpp"

namespace cafray {

/// Appends everything written to a byte vector.
class vector_sink : public std::streambuf {
public:
  explicit vector_sink(blob::buffer& out) : out_(out) {
  }

protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof())
      out_.push_back(static_cast<char>(ch));
    return ch;
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.insert(out_.end(), s, s + n);
    return n;
  }

private:
  blob::buffer& out_;
};

/// Reads from a byte range without copying it.
class memory_source : public std::streambuf {
public:
  memory_source(const char* data, size_t size) {
    auto p = const_cast<char*>(data);
    setg(p, p, p + size);
  }
};

constexpr unsigned archive_flags = boost::archive::no_header
                                   | boost::archive::no_codecvt;

/// Contiguous values whose bytes are the value: stored raw, without an
/// archive, so they copy at memory speed (and can later be viewed in place).
template <class T>
struct raw_codec : std::false_type {};

template <class T, class A>
struct raw_codec<std::vector<T, A>>
  : std::bool_constant<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> {};

template <>
struct raw_codec<std::string> : std::true_type {};

/// Serializes a value with Boost.Serialization into fresh bytes.
template <class T>
blob encode(const T& value) {
  blob::buffer bytes;
  if constexpr (std::is_trivially_copyable_v<T> && std::is_arithmetic_v<T>) {
    bytes.resize(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
  } else if constexpr (raw_codec<T>::value) {
    auto size = value.size() * sizeof(typename T::value_type);
    bytes.resize(size);
    if (size > 0)
      std::memcpy(bytes.data(), value.data(), size);
  } else {
    vector_sink sink{bytes};
    std::ostream os{&sink};
    boost::archive::binary_oarchive ar{os, archive_flags};
    ar << value;
  }
  return blob{std::move(bytes)};
}

/// Deserializes a value; throws std::exception when the bytes do not hold a
/// `T`.
template <class T>
T decode(const char* data, size_t size) {
  T result{};
  if constexpr (std::is_trivially_copyable_v<T> && std::is_arithmetic_v<T>) {
    if (size != sizeof(T))
      throw std::runtime_error("value has " + std::to_string(size)
                               + " bytes, expected "
                               + std::to_string(sizeof(T)));
    std::memcpy(&result, data, sizeof(T));
  } else if constexpr (raw_codec<T>::value) {
    using value_type = typename T::value_type;
    if (size % sizeof(value_type) != 0)
      throw std::runtime_error("value has " + std::to_string(size)
                               + " bytes, not a multiple of "
                               + std::to_string(sizeof(value_type)));
    auto first = reinterpret_cast<const value_type*>(data);
    result.assign(first, first + size / sizeof(value_type));
  } else {
    memory_source src{data, size};
    std::istream is{&src};
    boost::archive::binary_iarchive ar{is, archive_flags};
    ar >> result;
  }
  return result;
}

template <class T>
T decode(const blob& x) {
  return decode<T>(x.data(), x.size());
}

} // namespace cafray
