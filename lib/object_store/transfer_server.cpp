// The serving half of the transfer path: one epoll thread accepts
// connections, reads requests and sends each reply's bytes straight from the
// pinned object (no copy in user space).

#include "object_store/transfer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.hpp"
#include "object_store/transfer_wire.hpp"

namespace cafray {

using namespace transfer_wire;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr uint64_t wake_tag = 0;
constexpr uint64_t listen_tag = 1;
/// Requests a connection may queue before the server stops reading it (TCP
/// then holds the client back).
constexpr size_t max_queued_requests = 64;

struct connection {
  unique_fd fd;
  uint64_t tag = 0;
  char inbuf[request_size];
  size_t inbuf_used = 0;
  std::deque<request> queued;
  // The reply being sent: the rest of its header, then of its body.
  bool sending = false;
  char header[reply_size];
  size_t header_sent = 0;
  const char* body = nullptr;
  uint64_t body_left = 0;
  bool ends_object = false;
  // The object this connection serves and its pin.
  object_id pinned_id;
  std::optional<transfer_source> pinned;
  uint32_t events = 0;
  clock_type::time_point last_progress;
};

} // namespace

struct transfer_server::impl {
  transfer_server_config cfg;
  object_resolver resolve;
  event_loop loop;
  unique_fd listener;
  std::atomic<uint16_t> port{0};
  std::atomic<size_t> open_connections{0};
  std::atomic<bool> stopping{false};
  std::mutex lifecycle;  // start / stop
  std::thread thread;
  bool started = false;
  std::unordered_map<uint64_t, std::unique_ptr<connection>> conns;
  uint64_t next_tag = 2;

  caf::error listen();
  void run();
  void accept_all();
  void close(connection& c);
  void on_readable(connection& c);
  void on_writable(connection& c);
  bool next_reply(connection& c);
  void update_events(connection& c);
  void expire(clock_type::time_point now);
};

transfer_server::transfer_server(transfer_server_config cfg,
                                 object_resolver resolve)
  : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->resolve = std::move(resolve);
}

transfer_server::~transfer_server() {
  stop();
}

caf::error transfer_server::start() {
  std::lock_guard<std::mutex> guard{impl_->lifecycle};
  if (impl_->started)
    return make_error(errc::runtime_error, "transfer server started twice");
  if (auto err = impl_->listen())
    return err;
  if (!impl_->loop.open()
      || !impl_->loop.add(impl_->listener.get(), EPOLLIN, listen_tag))
    return make_error(errc::runtime_error, errno_text("transfer server"));
  impl_->started = true;
  impl_->thread = std::thread{[this] { impl_->run(); }};
  return {};
}

uint16_t transfer_server::port() const noexcept {
  return impl_->port.load();
}

void transfer_server::stop() {
  std::lock_guard<std::mutex> guard{impl_->lifecycle};
  if (!impl_->started || impl_->stopping.exchange(true))
    return;
  impl_->loop.notify();
  impl_->thread.join();
}

size_t transfer_server::connections() const noexcept {
  return impl_->open_connections.load();
}

caf::error transfer_server::impl::listen() {
  std::string why;
  bool bad_address = false;
  uint16_t bound = 0;
  listener = listen_tcp(cfg.host, cfg.port, bound, why, &bad_address);
  if (!listener)
    return make_error(bad_address ? errc::invalid_config : errc::runtime_error,
                      "transfer server "
                        + std::string{bad_address ? "address " : "on "}
                        + cfg.host + ":" + std::to_string(cfg.port) + ": "
                        + why);
  port = bound;
  return {};
}

void transfer_server::impl::run() {
  ::pthread_setname_np(::pthread_self(), "cafray-xfer-srv");
  epoll_event events[64];
  // Timeouts are checked at this granularity.
  constexpr int tick_ms = 50;
  while (!stopping.load()) {
    int n = ::epoll_wait(loop.epoll.get(), events, 64, tick_ms);
    for (int i = 0; i < n; ++i) {
      auto tag = events[i].data.u64;
      if (tag == wake_tag) {
        loop.drain();
        continue;
      }
      if (tag == listen_tag) {
        accept_all();
        continue;
      }
      auto it = conns.find(tag);
      if (it == conns.end())
        continue;  // closed earlier in this batch
      auto& c = *it->second;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
      if (conns.count(tag) && (events[i].events & EPOLLOUT))
        on_writable(c);
    }
    expire(clock_type::now());
  }
  // Stop accepting first, then drop every connection and its pin.
  loop.remove(listener.get());
  listener.reset();
  while (!conns.empty())
    close(*conns.begin()->second);
}

void transfer_server::impl::accept_all() {
  for (;;) {
    unique_fd fd{::accept4(listener.get(), nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC)};
    if (!fd)
      return;  // EAGAIN, or an error of that one connection
    if (conns.size() >= cfg.max_connections)
      continue;  // closed by fd's destructor
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<connection>();
    c->tag = next_tag++;
    c->events = EPOLLIN;
    c->last_progress = clock_type::now();
    if (!loop.add(fd.get(), c->events, c->tag))
      continue;
    c->fd = std::move(fd);
    conns.emplace(c->tag, std::move(c));
    ++open_connections;
  }
}

void transfer_server::impl::close(connection& c) {
  loop.remove(c.fd.get());
  --open_connections;
  conns.erase(c.tag);  // closes the socket and drops the pin
}

void transfer_server::impl::on_readable(connection& c) {
  while (c.queued.size() < max_queued_requests) {
    auto n = ::recv(c.fd.get(), c.inbuf + c.inbuf_used,
                    request_size - c.inbuf_used, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      close(c);
      return;
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    c.last_progress = clock_type::now();
    c.inbuf_used += static_cast<size_t>(n);
    if (c.inbuf_used < request_size)
      continue;
    c.inbuf_used = 0;
    request req;
    if (!decode(c.inbuf, req)) {
      close(c);  // not our protocol
      return;
    }
    c.queued.push_back(req);
  }
  on_writable(c);
}

bool transfer_server::impl::next_reply(connection& c) {
  if (c.queued.empty())
    return false;
  auto req = c.queued.front();
  c.queued.pop_front();
  if (!c.pinned || c.pinned_id != req.id) {
    c.pinned.reset();
    try {
      c.pinned = resolve(req.id);
    } catch (...) {
      c.pinned.reset();
    }
    c.pinned_id = req.id;
  }
  reply rep;
  rep.offset = req.offset;
  c.body = nullptr;
  c.body_left = 0;
  c.ends_object = false;
  if (!c.pinned) {
    rep.code = status::unknown_object;
  } else if (req.offset > c.pinned->size) {
    rep.code = status::bad_range;
    rep.object_size = c.pinned->size;
  } else {
    rep.object_size = c.pinned->size;
    rep.length = std::min(req.length, c.pinned->size - req.offset);
    c.body = c.pinned->data + req.offset;
    c.body_left = rep.length;
    c.ends_object = req.offset + rep.length == c.pinned->size;
  }
  encode(rep, c.header);
  c.header_sent = 0;
  c.sending = true;
  return true;
}

void transfer_server::impl::on_writable(connection& c) {
  for (;;) {
    if (!c.sending && !next_reply(c))
      break;
    iovec iov[2];
    int parts = 0;
    if (c.header_sent < reply_size)
      iov[parts++] = {c.header + c.header_sent, reply_size - c.header_sent};
    if (c.body_left > 0)
      iov[parts++] = {const_cast<char*>(c.body), c.body_left};
    ssize_t n = 0;
    if (parts > 0) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = parts;
      n = ::sendmsg(c.fd.get(), &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN)
          break;
        close(c);
        return;
      }
      c.last_progress = clock_type::now();
    }
    auto sent = static_cast<size_t>(n);
    auto from_header = std::min(sent, reply_size - c.header_sent);
    c.header_sent += from_header;
    sent -= from_header;
    c.body += sent;
    c.body_left -= sent;
    if (c.header_sent == reply_size && c.body_left == 0) {
      c.sending = false;
      if (c.ends_object)
        c.pinned.reset();  // the last chunk is out: unpin
    }
  }
  update_events(c);
}

void transfer_server::impl::update_events(connection& c) {
  uint32_t want = 0;
  if (c.queued.size() < max_queued_requests)
    want |= EPOLLIN;
  if (c.sending || !c.queued.empty())
    want |= EPOLLOUT;
  if (want != c.events && loop.modify(c.fd.get(), want, c.tag))
    c.events = want;
}

void transfer_server::impl::expire(clock_type::time_point now) {
  std::vector<connection*> dead;
  for (auto& [tag, c] : conns) {
    auto busy = c->sending || !c->queued.empty();
    auto limit = busy ? cfg.io_timeout : cfg.idle_timeout;
    if (now - c->last_progress > limit)
      dead.push_back(c.get());
  }
  for (auto c : dead)
    close(*c);
}

} // namespace cafray
