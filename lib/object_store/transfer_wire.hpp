#pragma once

// The transfer protocol's frames and the socket plumbing both ends share.
// Internal to transfer_server.cpp and transfer_client.cpp (not installed).
//
// A client sends fixed 40-byte requests; the server answers each, in order,
// with a 32-byte reply header followed by `length` bytes of the object.
//   request: magic u32 | index u32 | task.hi u64 | task.lo u64
//            | offset u64 | length u64
//   reply:   magic u32 | status u32 | object size u64 | offset u64
//            | length u64
// Integers are little-endian. The server clamps `length` to the object's
// end; a request at the end of an object gets a zero-length reply.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/ids.hpp"

namespace cafray::transfer_wire {

constexpr uint32_t request_magic = 0x31545243;  // "CRT1"
constexpr uint32_t reply_magic = 0x31525243;    // "CRR1"
constexpr size_t request_size = 40;
constexpr size_t reply_size = 32;

struct request {
  object_id id;
  uint64_t offset = 0;
  uint64_t length = 0;
};

enum class status : uint32_t {
  ok = 0,
  unknown_object = 1,
  bad_range = 2,  // offset past the object's end
};

struct reply {
  status code = status::ok;
  uint64_t object_size = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

inline void put_u32(char* p, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

inline void put_u64(char* p, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

inline uint32_t get_u32(const char* p) {
  uint32_t x = 0;
  for (int i = 3; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

inline uint64_t get_u64(const char* p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

inline void encode(const request& x, char* out) {
  put_u32(out, request_magic);
  put_u32(out + 4, x.id.index);
  put_u64(out + 8, x.id.task.hi);
  put_u64(out + 16, x.id.task.lo);
  put_u64(out + 24, x.offset);
  put_u64(out + 32, x.length);
}

/// False if the bytes are no request (the peer speaks something else).
inline bool decode(const char* in, request& x) {
  if (get_u32(in) != request_magic)
    return false;
  x.id.index = get_u32(in + 4);
  x.id.task.hi = get_u64(in + 8);
  x.id.task.lo = get_u64(in + 16);
  x.offset = get_u64(in + 24);
  x.length = get_u64(in + 32);
  return true;
}

inline void encode(const reply& x, char* out) {
  put_u32(out, reply_magic);
  put_u32(out + 4, static_cast<uint32_t>(x.code));
  put_u64(out + 8, x.object_size);
  put_u64(out + 16, x.offset);
  put_u64(out + 24, x.length);
}

inline bool decode(const char* in, reply& x) {
  if (get_u32(in) != reply_magic)
    return false;
  x.code = static_cast<status>(get_u32(in + 4));
  x.object_size = get_u64(in + 8);
  x.offset = get_u64(in + 16);
  x.length = get_u64(in + 24);
  return true;
}

/// Owns a file descriptor.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {
  }
  unique_fd(unique_fd&& x) noexcept : fd_(x.release()) {
  }
  unique_fd& operator=(unique_fd&& x) noexcept {
    reset(x.release());
    return *this;
  }
  ~unique_fd() {
    reset();
  }
  int get() const noexcept {
    return fd_;
  }
  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept;

private:
  int fd_ = -1;
};

/// An eventfd that wakes an epoll loop, and the epoll instance itself.
struct event_loop {
  unique_fd epoll;
  unique_fd wake;
  /// Creates both and registers `wake`; false (with errno) on failure.
  bool open();
  void notify() noexcept;
  void drain() noexcept;
  /// Registers, changes or removes `fd`; `tag` comes back in events.
  bool add(int fd, uint32_t events, uint64_t tag) noexcept;
  bool modify(int fd, uint32_t events, uint64_t tag) noexcept;
  void remove(int fd) noexcept;
};

/// "what: strerror(errno)".
std::string errno_text(const char* what);

/// A listening TCP socket on `host` (empty: every address) and `port` (0:
/// any), non-blocking and close-on-exec; sets `bound` to its port. An
/// empty fd and `why` on failure (`*bad_address` set if the address does
/// not parse).
unique_fd listen_tcp(const std::string& host, uint16_t port, uint16_t& bound,
                     std::string& why, bool* bad_address = nullptr);

/// Writes all of `size` bytes at `data` to a blocking socket, without
/// SIGPIPE; false if the connection is gone.
bool send_all(int fd, const char* data, size_t size);

/// A blocking connection to `host:port` with TCP_NODELAY, close-on-exec;
/// an empty fd and `why` on failure.
unique_fd connect_tcp(const std::string& host, uint16_t port,
                      std::string& why);

} // namespace cafray::transfer_wire
