#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/expected.hpp>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "proto/gcs_router.hpp"
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

/// Writes CAF's binary encoding of values without CAF's serializer (which
/// returns an error object per field, and showed in the profile of every
/// task submission). The bytes equal `caf::binary_serializer`'s: integers
/// in network byte order, sequence sizes as varbyte uint32, containers
/// element by element. A test holds the two equal. With `Counting`, it only
/// adds up the size, so the buffer grows once per record.
template <bool Counting>
class record_writer {
public:
  explicit record_writer(char* out = nullptr) : out_(out) {
  }

  /// Bytes written (or counted) so far.
  size_t written() const noexcept {
    return n_;
  }

  template <class T>
  std::enable_if_t<std::is_integral<T>::value> put(T x) {
    using U = std::make_unsigned_t<T>;
    if constexpr (!Counting) {
      // Big-endian, in one store.
      auto y = static_cast<U>(x);
      if constexpr (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || sizeof(U) == 1)
        ; // in order already
      else if constexpr (sizeof(U) == 8)
        y = __builtin_bswap64(y);
      else if constexpr (sizeof(U) == 4)
        y = __builtin_bswap32(y);
      else if constexpr (sizeof(U) == 2)
        y = __builtin_bswap16(y);
      std::memcpy(out_ + n_, &y, sizeof(U));
    }
    n_ += sizeof(U);
  }

  void size(size_t n) {
    auto x = static_cast<uint32_t>(n);
    while (x > 0x7f) {
      if constexpr (!Counting)
        out_[n_] = static_cast<char>((x & 0x7f) | 0x80);
      ++n_;
      x >>= 7;
    }
    if constexpr (!Counting)
      out_[n_] = static_cast<char>(x & 0x7f);
    ++n_;
  }

  void raw(const char* data, size_t n) {
    size(n);
    if constexpr (!Counting)
      if (n > 0)
        std::memcpy(out_ + n_, data, n);
    n_ += n;
  }

  void put(const std::string& x) {
    raw(x.data(), x.size());
  }

  void put(const blob& x) {
    raw(x.data(), x.size());
  }

  template <class Tag>
  void put(const basic_id<Tag>& x) {
    put(x.hi);
    put(x.lo);
  }

  void put(const object_id& x) {
    put(x.task);
    put(x.index);
  }

  void put(const task_arg& x) {
    put(x.kind);
    put(x.ref);
    put(x.value);
  }

  void put(const resource_map& xs) {
    size(xs.size());
    for (auto& [name, amount] : xs) {
      put(name);
      put(amount);
    }
  }

  template <class T>
  void put(const std::vector<T>& xs) {
    size(xs.size());
    for (auto& x : xs)
      put(x);
  }

  void put(const task_spec& x) {
    put(x.id);
    put(x.job);
    put(x.kind);
    put(x.function);
    put(x.signature);
    put(x.args);
    put(x.resources);
    put(x.max_retries);
    put(x.name);
    put(x.parent);
    put(x.actor);
    put(x.seq);
    put(x.num_returns);
  }

  /// A `task_record`'s fields: spec, state, node, time.
  void put_task_record(const task_spec& spec, uint8_t state,
                       const node_id& node, int64_t updated_ns) {
    put(spec);
    put(state);
    put(node);
    put(updated_ns);
  }

private:
  char* out_;
  size_t n_ = 0;
};

/// Appends a `task_record`'s encoding (spec, state, node, time) to `buf`.
inline void append_task_record(std::vector<char>& buf, const task_spec& spec,
                               uint8_t state, const node_id& node,
                               int64_t updated_ns) {
  record_writer<true> count;
  count.put_task_record(spec, state, node, updated_ns);
  auto old = buf.size();
  buf.resize(old + count.written());
  record_writer<false> out{buf.data() + old};
  out.put_task_record(spec, state, node, updated_ns);
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
    append_task_record(buf_, spec, state, node, updated_ns);
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

/// Records a failure in the GCS errors table (what `error_info` lists).
inline void report_error(const gcs_router& gcs, const error_record& err) {
  if (gcs.empty())
    return;
  // Key: time first so that a scan lists errors in the order they happened.
  std::string key;
  key.reserve(24);
  for (int i = 7; i >= 0; --i)
    key.push_back(static_cast<char>((err.time_ns >> (8 * i)) & 0xff));
  key += to_key(err.task);
  gcs.put_batch(gcs_table::errors, {kv_entry{key, encode_record(err)}});
}

} // namespace cafray
