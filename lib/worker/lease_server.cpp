// A worker process's end of the task channel (proto/task_channel.hpp): the
// socket a leasing driver connects to, and the executor's loop that runs
// the lease's tasks.

#include <cerrno>
#include <chrono>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/send.hpp>

#include "object_store/transfer_wire.hpp"
#include "worker/executor_detail.hpp"

namespace cafray {

std::shared_ptr<channel_port> channel_port::open(const std::string& host,
                                                 std::string& why) {
  uint16_t port = 0;
  auto fd = transfer_wire::listen_tcp(host, 0, port, why);
  if (!fd)
    return nullptr;
  std::shared_ptr<channel_port> result{new channel_port};
  result->listener_ = fd.release();
  auto shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  result->address_ = shown + ":" + std::to_string(port);
  return result;
}

channel_port::~channel_port() {
  if (listener_ >= 0)
    ::close(listener_);
}

void channel_port::serving(int fd) noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  serving_ = fd;
  ending_.store(false, std::memory_order_release);
}

void channel_port::end() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  if (serving_ < 0)
    return;
  ending_.store(true, std::memory_order_release);
  // Wakes the executor's read; what it sends still goes out.
  ::shutdown(serving_, SHUT_RD);
}

} // namespace cafray

namespace cafray::detail {

namespace {

/// Writes all of `buf`; false if the connection is gone.
bool write_all(int fd, const std::vector<char>& buf) {
  return transfer_wire::send_all(fd, buf.data(), buf.size());
}

/// Waits up to `ms` for `fd` to be readable; false on timeout or error.
bool readable_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    auto rc = ::poll(&p, 1, ms);
    if (rc < 0 && errno == EINTR)
      continue;
    return rc > 0;
  }
}

/// Accepts the connection of the driver holding lease `token` on `port`,
/// for at most a few seconds; -1 if it does not come. What arrived after
/// the hello (the first tasks, often in the same packet) stays in `in`.
int accept_lease(channel_port& port, uint64_t token, channel::reader& in) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::seconds{5};
  for (auto now = clock::now(); now < deadline; now = clock::now()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - now);
    if (!readable_within(port.listener(), static_cast<int>(left.count()) + 1))
      continue;
    int fd = ::accept4(port.listener(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // The first frame must be the hello with this lease's token.
    in = channel::reader{};
    channel::frame f;
    bool bad = false;
    uint64_t got = 0;
    while (!bad && !in.next(f, bad) && readable_within(fd, 1000)) {
      auto n = ::read(fd, in.space(64 * 1024), 64 * 1024);
      if (n <= 0)
        break;
      in.filled(static_cast<size_t>(n));
    }
    if (!bad && f.body != nullptr && f.kind == channel::frame_kind::hello
        && f.decode(got) && got == token)
      return fd;
    ::close(fd);
  }
  return -1;
}

/// Serves a lease: runs the tasks its driver sends, in order, and answers
/// with their results (one frame for all that ran since the last answer,
/// sent before this thread waits, or when the oldest waited 20 µs). A small
/// result is its driver's alone (it puts it into the store if it ever must
/// leave); a large one is sealed in the node's arena as usual. The raylet
/// hears of none of these tasks, only of the lease's end.
} // namespace

void serve_lease(const executor_env& env, task_context& ctx, uint64_t token) {
  auto& port = *env.channel;
  channel::reader in;
  int fd = accept_lease(port, token, in);
  if (fd >= 0) {
    port.serving(fd);
    std::vector<object_id> ids;
    std::vector<object_payload> payloads;
    std::vector<object_id> stored;
    std::vector<char> out;
    auto flush = [&] {
      if (ids.empty() && stored.empty())
        return true;
      out.clear();
      channel::append(out, channel::frame_kind::results, ids, payloads,
                      stored);
      ids.clear();
      payloads.clear();
      stored.clear();
      return write_all(fd, out);
    };
    ctx.on_block = [&] {
      // What this task waits for may be among the unanswered results.
      flush();
      auto returned = env.queue->block();
      if (!returned.empty())
        caf::anon_send(env.raylet, handback_atom_v, env.index,
                       std::move(returned));
    };
    using clock = std::chrono::steady_clock;
    constexpr auto slow = std::chrono::microseconds{20};
    auto oldest = clock::now();
    bool open = true;
    while (open && !port.ending()) {
      // The tasks already here first (the hello may have brought some).
      channel::frame f;
      bool bad = false;
      while (open && !port.ending() && in.next(f, bad)) {
        task_spec spec;
        if (f.kind != channel::frame_kind::task || !f.decode(spec)) {
          open = false;
          break;
        }
        if (ids.empty() && stored.empty())
          oldest = clock::now();
        std::vector<object_payload> resolved;
        auto done = run_one(env, ctx, spec, resolved);
        if (done.placed) {
          stored.push_back(done.id);
        } else {
          ids.push_back(done.id);
          payloads.push_back(std::move(done.result));
        }
        seal(env, done);
        if (ids.size() + stored.size() >= 64 || clock::now() - oldest > slow)
          if (!flush())
            open = false;
      }
      if (bad || !open || port.ending())
        break;
      // Whatever is unanswered goes out before this thread waits.
      auto n = ::recv(fd, in.space(64 * 1024), 64 * 1024, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!flush())
          break;
        n = ::recv(fd, in.space(64 * 1024), 64 * 1024, 0);
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      in.filled(static_cast<size_t>(n));
    }
    flush();
    // Ended by the raylet: the driver learns that what it sent and did
    // not hear back from never started.
    if (port.ending()) {
      out.clear();
      channel::append(out, channel::frame_kind::bye);
      write_all(fd, out);
    }
    port.serving(-1);
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    ctx.on_block = nullptr;
  }
  caf::anon_send(env.raylet, lease_atom_v, env.index, token);
}

} // namespace cafray::detail
