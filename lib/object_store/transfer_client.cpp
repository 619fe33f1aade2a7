// The pulling half of the transfer path: one epoll thread drives every pull,
// each on a connection of its own with several chunk requests in flight, and
// receives the bytes straight into the caller's destination.

#include "object_store/transfer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.hpp"
#include "object_store/transfer_wire.hpp"

namespace cafray {

using namespace transfer_wire;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr uint64_t wake_tag = 0;

struct pull_op {
  transfer_endpoint from;
  object_id id;
  destination_fn dest;
  completion_fn done;
  uint64_t tag = 0;
  unique_fd fd;
  bool connected = false;
  bool reused = false;  // the connection served an earlier pull
  uint32_t events = 0;
  clock_type::time_point deadline;
  // Requests encoded and not yet sent.
  std::string outbuf;
  size_t out_sent = 0;
  uint64_t next_offset = 0;  // of the next chunk to request
  int in_flight = 0;         // requests whose reply is not complete
  // The reply being read: header first, then its body.
  char header[reply_size];
  size_t header_got = 0;
  bool in_body = false;
  uint64_t body_offset = 0;
  uint64_t body_left = 0;
  // The object.
  bool sized = false;
  uint64_t size = 0;
  char* out = nullptr;
  uint64_t received = 0;
};

/// A connection kept open after a pull, for the next pull from its peer.
struct idle_connection {
  unique_fd fd;
  std::string peer;
  clock_type::time_point since;
};

std::string peer_key(const transfer_endpoint& x) {
  return x.host + "|" + std::to_string(x.port);
}

std::string where(const pull_op& p) {
  return to_string(p.id) + " from " + p.from.host + ":"
         + std::to_string(p.from.port);
}

} // namespace

struct transfer_client::impl {
  transfer_client_config cfg;
  event_loop loop;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> pending{0};
  std::mutex lifecycle;  // stop
  // Submitted by `pull`, taken by the thread.
  std::mutex submitted_mtx;
  std::deque<std::unique_ptr<pull_op>> submitted;
  // The thread's own.
  std::deque<std::unique_ptr<pull_op>> waiting;
  std::unordered_map<uint64_t, std::unique_ptr<pull_op>> active;
  // Idle connections by tag, and their tags by peer (most recent last).
  std::unordered_map<uint64_t, idle_connection> idle;
  std::unordered_map<std::string, std::vector<uint64_t>> idle_by_peer;
  uint64_t next_tag = 1;

  void run();
  void admit();
  void start(pull_op& p);
  bool reuse(pull_op& p);
  void keep_idle(pull_op& p);
  void close_idle(uint64_t tag);
  void expire_idle(clock_type::time_point now);
  void on_event(pull_op& p, uint32_t events);
  bool flush(pull_op& p);
  bool receive(pull_op& p);
  bool on_header(pull_op& p);
  void request_more(pull_op& p);
  void update_events(pull_op& p);
  void finish(pull_op& p, caf::expected<uint64_t> result);
  void finish_all(caf::error err);
};

transfer_client::transfer_client(transfer_client_config cfg)
  : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->cfg.chunk_size = std::max<uint64_t>(impl_->cfg.chunk_size, 1);
  impl_->cfg.chunks_in_flight = std::max(impl_->cfg.chunks_in_flight, 1);
  impl_->cfg.max_active_pulls = std::max<size_t>(impl_->cfg.max_active_pulls,
                                                 1);
  if (!impl_->loop.open()) {
    impl_->stopping = true;  // every pull fails with shutting_down
    return;
  }
  impl_->thread = std::thread{[this] { impl_->run(); }};
}

transfer_client::~transfer_client() {
  stop();
}

void transfer_client::pull(transfer_endpoint from, const object_id& id,
                           destination_fn dest, completion_fn done) {
  auto p = std::make_unique<pull_op>();
  p->from = std::move(from);
  p->id = id;
  p->dest = std::move(dest);
  p->done = std::move(done);
  {
    std::lock_guard<std::mutex> guard{impl_->submitted_mtx};
    // Checked under the lock the thread takes before failing what is left,
    // so a pull is either failed here or seen by the thread.
    if (!impl_->stopping.load()) {
      impl_->submitted.push_back(std::move(p));
      ++impl_->pending;
    }
  }
  if (p) {
    p->done(make_error(errc::shutting_down, "transfer client stopped"));
    return;
  }
  impl_->loop.notify();
}

void transfer_client::stop() {
  std::lock_guard<std::mutex> guard{impl_->lifecycle};
  {
    std::lock_guard<std::mutex> g2{impl_->submitted_mtx};
    impl_->stopping = true;
  }
  if (impl_->thread.joinable()) {
    impl_->loop.notify();
    impl_->thread.join();
  }
}

size_t transfer_client::pending() const noexcept {
  return impl_->pending.load();
}

void transfer_client::impl::run() {
  ::pthread_setname_np(::pthread_self(), "cafray-xfer-cli");
  std::vector<epoll_event> events(64);
  constexpr int tick_ms = 50;
  while (!stopping.load()) {
    admit();
    int n = ::epoll_wait(loop.epoll.get(), events.data(),
                         static_cast<int>(events.size()), tick_ms);
    for (int i = 0; i < n; ++i) {
      auto tag = events[i].data.u64;
      if (tag == wake_tag) {
        loop.drain();
        continue;
      }
      if (auto it = active.find(tag); it != active.end())
        on_event(*it->second, events[i].events);
      else if (idle.count(tag))
        close_idle(tag);  // the peer closed it, or sent what it should not
    }
    auto now = clock_type::now();
    expire_idle(now);
    std::vector<pull_op*> late;
    for (auto& [tag, p] : active)
      if (now >= p->deadline)
        late.push_back(p.get());
    for (auto p : late) {
      if (p->connected)
        finish(*p, make_error(errc::timeout, "no bytes for "
                                               + std::to_string(
                                                 cfg.io_timeout.count())
                                               + " ms pulling " + where(*p)));
      else
        finish(*p, make_error(errc::peer_unreachable,
                              "connect timed out pulling " + where(*p)));
    }
  }
  finish_all(make_error(errc::shutting_down, "transfer client stopped"));
  while (!idle.empty())
    close_idle(idle.begin()->first);
}

void transfer_client::impl::admit() {
  {
    std::lock_guard<std::mutex> guard{submitted_mtx};
    while (!submitted.empty()) {
      waiting.push_back(std::move(submitted.front()));
      submitted.pop_front();
    }
  }
  while (!waiting.empty() && active.size() < cfg.max_active_pulls) {
    auto p = std::move(waiting.front());
    waiting.pop_front();
    p->tag = next_tag++;
    auto& ref = *p;
    active.emplace(p->tag, std::move(p));
    start(ref);
  }
}

void transfer_client::impl::start(pull_op& p) {
  // The first request learns the size; the rest follow once it is known.
  char frame[request_size];
  encode(request{p.id, 0, cfg.chunk_size}, frame);
  p.outbuf.assign(frame, request_size);
  p.out_sent = 0;
  p.next_offset = cfg.chunk_size;
  p.in_flight = 1;
  if (reuse(p))
    return;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(p.from.port);
  if (auto rc = ::getaddrinfo(p.from.host.c_str(), service.c_str(), &hints,
                              &found);
      rc != 0) {
    finish(p, make_error(errc::peer_unreachable,
                         std::string{::gai_strerror(rc)} + " pulling "
                           + where(p)));
    return;
  }
  // The first address only: connecting to several at once is not worth it
  // for the numeric addresses the GCS records.
  p.fd = unique_fd{::socket(found->ai_family,
                            found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            found->ai_protocol)};
  int rc = p.fd ? ::connect(p.fd.get(), found->ai_addr, found->ai_addrlen)
                : -1;
  auto saved = errno;
  ::freeaddrinfo(found);
  errno = saved;
  if (rc != 0 && errno != EINPROGRESS) {
    finish(p, make_error(errc::peer_unreachable,
                         errno_text("connect") + " pulling " + where(p)));
    return;
  }
  int one = 1;
  ::setsockopt(p.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  p.deadline = clock_type::now() + cfg.connect_timeout;
  p.events = EPOLLOUT;
  if (!loop.add(p.fd.get(), p.events, p.tag))
    finish(p, make_error(errc::runtime_error, errno_text("epoll_ctl")));
}

/// Takes an idle connection to the pull's peer, if there is one.
bool transfer_client::impl::reuse(pull_op& p) {
  auto i = idle_by_peer.find(peer_key(p.from));
  if (i == idle_by_peer.end())
    return false;
  auto tag = i->second.back();
  i->second.pop_back();
  if (i->second.empty())
    idle_by_peer.erase(i);
  auto& conn = idle.at(tag);
  p.fd = std::move(conn.fd);
  idle.erase(tag);
  p.connected = true;
  p.reused = true;
  p.deadline = clock_type::now() + cfg.io_timeout;
  p.events = EPOLLIN | EPOLLOUT;
  loop.remove(p.fd.get());
  if (!loop.add(p.fd.get(), p.events, p.tag)) {
    p.fd.reset();
    p.reused = false;
    p.connected = false;
    return false;
  }
  return true;
}

/// After a successful pull: keeps its connection for the next pull from
/// the same peer, if there is room.
void transfer_client::impl::keep_idle(pull_op& p) {
  if (!p.fd || !p.outbuf.empty() || p.in_flight != 0 || p.in_body
      || p.header_got != 0 || cfg.idle_per_peer == 0)
    return;
  auto key = peer_key(p.from);
  auto& tags = idle_by_peer[key];
  if (tags.size() >= cfg.idle_per_peer)
    return;
  auto tag = next_tag++;
  // Watched while idle: readable means the peer closed it (it owes nothing).
  if (!loop.modify(p.fd.get(), EPOLLIN, tag))
    return;
  tags.push_back(tag);
  idle.emplace(tag, idle_connection{std::move(p.fd), key,
                                    clock_type::now()});
}

void transfer_client::impl::close_idle(uint64_t tag) {
  auto i = idle.find(tag);
  if (i == idle.end())
    return;
  loop.remove(i->second.fd.get());
  auto& tags = idle_by_peer[i->second.peer];
  tags.erase(std::remove(tags.begin(), tags.end(), tag), tags.end());
  if (tags.empty())
    idle_by_peer.erase(i->second.peer);
  idle.erase(i);
}

void transfer_client::impl::expire_idle(clock_type::time_point now) {
  std::vector<uint64_t> old;
  for (auto& [tag, conn] : idle)
    if (now - conn.since >= cfg.idle_timeout)
      old.push_back(tag);
  for (auto tag : old)
    close_idle(tag);
}

void transfer_client::impl::on_event(pull_op& p, uint32_t events) {
  if (!p.connected) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(p.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      finish(p, make_error(errc::peer_unreachable,
                           errno_text("connect") + " pulling " + where(p)));
      return;
    }
    if (!(events & EPOLLOUT))
      return;
    p.connected = true;
    p.deadline = clock_type::now() + cfg.io_timeout;
  }
  if ((events & EPOLLOUT) && !flush(p))
    return;
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !receive(p))
    return;
  update_events(p);
}

bool transfer_client::impl::flush(pull_op& p) {
  while (p.out_sent < p.outbuf.size()) {
    auto n = ::send(p.fd.get(), p.outbuf.data() + p.out_sent,
                    p.outbuf.size() - p.out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        return true;
      finish(p, make_error(errc::connection_lost,
                           errno_text("send") + " pulling " + where(p)));
      return false;
    }
    p.out_sent += static_cast<size_t>(n);
  }
  p.outbuf.clear();
  p.out_sent = 0;
  return true;
}

/// Reads what is there; false if the pull ended.
bool transfer_client::impl::receive(pull_op& p) {
  for (;;) {
    char* to;
    size_t want;
    if (!p.in_body) {
      to = p.header + p.header_got;
      want = reply_size - p.header_got;
    } else {
      to = p.out + p.body_offset;
      want = static_cast<size_t>(std::min<uint64_t>(p.body_left, 1ull << 30));
    }
    auto n = ::recv(p.fd.get(), to, want, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return true;
    if (n <= 0) {
      auto why = n == 0 ? std::string{"closed by the holder"}
                        : errno_text("recv");
      finish(p, make_error(errc::connection_lost,
                           why + " after " + std::to_string(p.received)
                             + " bytes pulling " + where(p)));
      return false;
    }
    p.deadline = clock_type::now() + cfg.io_timeout;
    auto got = static_cast<size_t>(n);
    if (!p.in_body) {
      p.header_got += got;
      if (p.header_got == reply_size && !on_header(p))
        return false;
    } else {
      p.body_offset += got;
      p.body_left -= got;
    }
    if (p.in_body && p.body_left == 0) {
      p.in_body = false;
      --p.in_flight;
      if (p.received == p.size) {
        finish(p, p.size);
        return false;
      }
      request_more(p);
      if (!flush(p))
        return false;
    }
  }
}

/// A complete reply header: checks it and prepares for its body.
bool transfer_client::impl::on_header(pull_op& p) {
  p.header_got = 0;
  reply rep;
  auto fail = [&](std::string what) {
    finish(p, make_error(errc::connection_lost,
                         "bad reply (" + what + ") pulling " + where(p)));
    return false;
  };
  if (!decode(p.header, rep))
    return fail("not a transfer reply");
  if (rep.code == status::unknown_object) {
    finish(p, make_error(errc::not_found, "holder has no object "
                                            + where(p)));
    return false;
  }
  if (rep.code != status::ok)
    return fail("status " + std::to_string(static_cast<uint32_t>(rep.code)));
  if (!p.sized) {
    p.sized = true;
    p.size = rep.object_size;
    caf::expected<char*> dest{nullptr};
    try {
      dest = p.dest(p.size);
    } catch (...) {
      dest = make_error(errc::runtime_error, "the destination threw");
    }
    if (!dest) {
      finish(p, std::move(dest.error()));
      return false;
    }
    p.out = *dest;
  }
  if (rep.object_size != p.size || rep.offset != p.received
      || rep.length > p.size - rep.offset)
    return fail("size, offset or length");
  p.in_body = true;
  p.body_offset = rep.offset;
  p.body_left = rep.length;
  // Replies come in request order, and bytes are counted when requested
  // chunks are complete: count this one now, its bytes arrive next.
  p.received += rep.length;
  if (rep.length == 0 && p.received != p.size)
    return fail("empty chunk");
  return true;
}

void transfer_client::impl::request_more(pull_op& p) {
  while (p.in_flight < cfg.chunks_in_flight && p.next_offset < p.size) {
    char frame[request_size];
    encode(request{p.id, p.next_offset, cfg.chunk_size}, frame);
    p.outbuf.append(frame, request_size);
    p.next_offset += cfg.chunk_size;
    ++p.in_flight;
  }
}

void transfer_client::impl::update_events(pull_op& p) {
  uint32_t want = EPOLLIN;
  if (!p.outbuf.empty())
    want |= EPOLLOUT;
  if (want != p.events && loop.modify(p.fd.get(), want, p.tag))
    p.events = want;
}

void transfer_client::impl::finish(pull_op& p,
                                   caf::expected<uint64_t> result) {
  if (result && !stopping.load())
    keep_idle(p);
  if (!result && p.reused && !p.sized && p.header_got == 0
      && code_of(result.error()) == errc::connection_lost) {
    // The peer closed the idle connection as this pull took it: nothing
    // was received, so try once more on a fresh connection.
    loop.remove(p.fd.get());
    p.fd.reset();
    p.reused = false;
    p.connected = false;
    start(p);
    return;
  }
  if (p.fd) {
    loop.remove(p.fd.get());
    p.fd.reset();
  }
  auto owned = std::move(active.at(p.tag));
  active.erase(p.tag);
  --pending;
  owned->done(std::move(result));
}

void transfer_client::impl::finish_all(caf::error err) {
  {
    std::lock_guard<std::mutex> guard{submitted_mtx};
    while (!submitted.empty()) {
      waiting.push_back(std::move(submitted.front()));
      submitted.pop_front();
    }
  }
  while (!active.empty())
    finish(*active.begin()->second, err);
  for (auto& p : waiting) {
    --pending;
    p->done(err);
  }
  waiting.clear();
}

} // namespace cafray
