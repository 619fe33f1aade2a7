#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/meta/type_name.hpp>

namespace cafray {

/// A fixed-size 128-bit identifier. `Tag` keeps job, task, actor and node
/// IDs apart at compile time.
template <class Tag>
struct basic_id {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool nil() const noexcept {
    return hi == 0 && lo == 0;
  }

  friend bool operator==(const basic_id& x, const basic_id& y) noexcept {
    return x.hi == y.hi && x.lo == y.lo;
  }
  friend bool operator!=(const basic_id& x, const basic_id& y) noexcept {
    return !(x == y);
  }
  friend bool operator<(const basic_id& x, const basic_id& y) noexcept {
    return x.hi != y.hi ? x.hi < y.hi : x.lo < y.lo;
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& hi& lo;
  }
};

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, basic_id<Tag>& x) {
  return f(caf::meta::type_name(Tag::name), x.hi, x.lo);
}

struct job_tag { static constexpr const char* name = "job_id"; };
struct task_tag { static constexpr const char* name = "task_id"; };
struct actor_tag { static constexpr const char* name = "actor_id"; };
struct node_tag { static constexpr const char* name = "node_id"; };

using job_id = basic_id<job_tag>;
using task_id = basic_id<task_tag>;
using actor_id = basic_id<actor_tag>;
using node_id = basic_id<node_tag>;

/// Names an object by the task that creates it and a return index, so an
/// object names its own lineage. Objects made by `put` set the high bit of
/// the index (`put_flag`).
struct object_id {
  static constexpr uint32_t put_flag = 0x80000000u;

  task_id task;
  uint32_t index = 0;

  bool nil() const noexcept {
    return task.nil() && index == 0;
  }
  bool is_put() const noexcept {
    return (index & put_flag) != 0;
  }

  friend bool operator==(const object_id& x, const object_id& y) noexcept {
    return x.task == y.task && x.index == y.index;
  }
  friend bool operator!=(const object_id& x, const object_id& y) noexcept {
    return !(x == y);
  }
  friend bool operator<(const object_id& x, const object_id& y) noexcept {
    return x.task != y.task ? x.task < y.task : x.index < y.index;
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& task& index;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, object_id& x) {
  return f(caf::meta::type_name("object_id"), x.task, x.index);
}

/// Fresh random 128-bit value (never all zero).
std::pair<uint64_t, uint64_t> random_id_bits();

template <class Id>
Id make_random_id() {
  auto [hi, lo] = random_id_bits();
  return Id{hi, lo};
}

/// The ID of the `index`-th task submitted by the submitter `parent`.
task_id derive_task_id(const task_id& parent, uint64_t index);

/// Hex rendering, e.g. for logs and GCS keys.
std::string to_hex(uint64_t hi, uint64_t lo);

template <class Tag>
std::string to_string(const basic_id<Tag>& x) {
  return to_hex(x.hi, x.lo);
}

std::string to_string(const object_id& x);

/// Binary key of 16 (or 20) bytes, big-endian, for ordered storage.
std::string to_key(const task_id& x);
std::string to_key(const object_id& x);

/// Stable 64-bit FNV-1a of bytes; the same in every process and build.
inline uint64_t stable_hash(const std::string& key) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

inline uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

} // namespace cafray

namespace std {

template <class Tag>
struct hash<cafray::basic_id<Tag>> {
  size_t operator()(const cafray::basic_id<Tag>& x) const noexcept {
    return cafray::mix64(x.hi ^ cafray::mix64(x.lo));
  }
};

template <>
struct hash<cafray::object_id> {
  size_t operator()(const cafray::object_id& x) const noexcept {
    return cafray::mix64(x.task.hi ^ cafray::mix64(x.task.lo + x.index));
  }
};

} // namespace std
