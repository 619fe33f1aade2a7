#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/expected.hpp>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "proto/messages.hpp"

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

/// Lineage rows: task records written back to back into segments, one GCS
/// row per segment instead of one per task (a row per task made the GCS
/// the busiest thread of a task burst). A segment's key is the first task's
/// key plus a per-writer counter; `decode_segment` reads it back.
class lineage_writer {
public:
  /// A segment is closed at this size (messages stay well below CAF's
  /// comfortable size).
  static constexpr size_t segment_bytes = size_t{1} << 20;

  explicit lineage_writer(uint64_t origin = 0) : origin_(origin) {
  }

  void add(const task_spec& spec, uint8_t state, const node_id& node,
           int64_t updated_ns) {
    if (buf_.empty()) {
      buf_.reserve(segment_bytes + 4096);
      key_ = to_key(spec.id);
    }
    caf::binary_serializer sink{nullptr, buf_};
    static_cast<void>(sink(const_cast<task_spec&>(spec), state,
                           const_cast<node_id&>(node), updated_ns));
    if (buf_.size() >= segment_bytes)
      close();
  }

  /// Whether a full segment waits to be taken.
  bool has_full_segment() const noexcept {
    return !rows_.empty();
  }

  /// The closed segments only; the open one keeps growing.
  std::vector<kv_entry> take_full() {
    return std::exchange(rows_, {});
  }

  /// The closed segments and the open one, as GCS rows; starts afresh.
  std::vector<kv_entry> take() {
    close();
    return std::exchange(rows_, {});
  }

private:
  void close() {
    if (buf_.empty())
      return;
    auto key = std::move(key_);
    auto n = ++segments_ ^ (origin_ << 40);
    for (int i = 7; i >= 0; --i)
      key.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    rows_.push_back(kv_entry{std::move(key), std::string{buf_.begin(),
                                                         buf_.end()}});
    buf_.clear();
  }

  uint64_t origin_;
  uint64_t segments_ = 0;
  std::string key_;
  std::vector<char> buf_;
  std::vector<kv_entry> rows_;
};

/// The task records of a lineage segment, in the order they were written.
inline caf::expected<std::vector<task_record>>
decode_segment(const std::string& bytes) {
  std::vector<task_record> result;
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr),
                                  bytes.data(), bytes.size()};
  while (source.remaining() > 0) {
    task_record rec;
    if (auto err = source(rec))
      return make_error(errc::storage_error, "cannot decode lineage segment");
    result.emplace_back(std::move(rec));
  }
  return result;
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
