#pragma once

// The task channel: how a driver sends tasks straight to a worker process it
// leased from its raylet (raylet_actor's lease_atom), and gets their small
// results back, without the raylet or CAF's middleman on the way (Ray's
// direct task transport). One TCP connection per lease; each side reads and
// writes it from a thread of its own, so a task costs two thread hand-offs
// on the wire instead of the eleven of the raylet's path.
//
// A frame is: length u32 (big-endian, of what follows) | kind u8 | body,
// where the body is CAF's binary encoding of registered message types:
//   hello    driver -> worker, first: the lease's token (uint64_t)
//   task     driver -> worker: one task_spec (inline arguments only)
//   results  worker -> driver: std::vector<object_id>,
//            std::vector<object_payload> of tasks run, in the order they ran
//   bye      worker -> driver: the worker ends the lease; every task sent and
//            not answered was never started
// The driver ends a lease by closing the connection once nothing it sent is
// unanswered. A connection that ends without a bye lost its worker: the
// first unanswered task was running.

#include <cstdint>
#include <cstring>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "proto/messages.hpp"

namespace cafray::channel {

enum class frame_kind : uint8_t {
  hello = 1,
  task = 2,
  results = 3,
  bye = 4,
};

constexpr size_t header_size = 5;

/// Frames larger than this end the connection (a result this large goes to
/// the node's arena, not inline).
constexpr uint32_t max_frame = uint32_t{1} << 30;

/// Appends one frame of `kind` holding `xs` to `buf`.
template <class... Ts>
void append(std::vector<char>& buf, frame_kind kind, const Ts&... xs) {
  auto start = buf.size();
  buf.resize(start + header_size);
  caf::binary_serializer sink{nullptr, buf};
  sink.seek(start + header_size);
  if constexpr (sizeof...(Ts) > 0)
    static_cast<void>(sink(const_cast<Ts&>(xs)...));
  auto length = static_cast<uint32_t>(buf.size() - start - 4);
  auto out = buf.data() + start;
  out[0] = static_cast<char>((length >> 24) & 0xff);
  out[1] = static_cast<char>((length >> 16) & 0xff);
  out[2] = static_cast<char>((length >> 8) & 0xff);
  out[3] = static_cast<char>(length & 0xff);
  out[4] = static_cast<char>(kind);
}

/// One frame in a read buffer.
struct frame {
  frame_kind kind = frame_kind::hello;
  const char* body = nullptr;
  size_t size = 0;

  /// Decodes the body into `xs`; false if it does not hold them.
  template <class... Ts>
  bool decode(Ts&... xs) const {
    caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr),
                                    body, size};
    return !source(xs...) && source.remaining() == 0;
  }
};

/// Bytes read from a connection, cut into frames.
class reader {
public:
  /// Room for at least `n` more bytes at `space()`.
  char* space(size_t n) {
    if (begin_ > 0 && begin_ == end_)
      begin_ = end_ = 0;
    if (buf_.size() - end_ < n) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (buf_.size() - end_ < n)
        buf_.resize(end_ + n);
    }
    return buf_.data() + end_;
  }

  /// `n` bytes arrived at `space()`.
  void filled(size_t n) {
    end_ += n;
  }

  /// The next whole frame, if there is one; false if none is complete yet.
  /// Sets `bad` if the stream holds no valid frame.
  bool next(frame& x, bool& bad) {
    bad = false;
    auto avail = end_ - begin_;
    if (avail < header_size)
      return false;
    auto p = reinterpret_cast<const unsigned char*>(buf_.data() + begin_);
    auto length = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
                  | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    if (length < 1 || length > max_frame) {
      bad = true;
      return false;
    }
    if (avail < 4 + size_t{length})
      return false;
    x.kind = static_cast<frame_kind>(p[4]);
    x.body = buf_.data() + begin_ + header_size;
    x.size = length - 1;
    begin_ += 4 + length;
    return true;
  }

private:
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

} // namespace cafray::channel
