#include "api/detail/direct_tasks.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "api/detail/local_leases.hpp"
#include "common/error.hpp"
#include "object_store/transfer_wire.hpp"
#include "proto/task_channel.hpp"

namespace cafray::detail {

struct direct_tasks::connection {
  transfer_wire::unique_fd fd;
  /// Held while a task is put in `sent` and `out`, and while `out` is
  /// written, so that the worker receives tasks in the order of `sent`.
  /// Nobody blocks in a write while holding it.
  std::mutex write_mtx;
  /// Tasks not written yet: while the worker has tasks to run, new ones
  /// wait here and go out in one write when its next results arrive (or
  /// once plenty gathered), instead of one write and one wake-up each.
  std::vector<char> out;
  // Guarded by direct_tasks::mtx_:
  std::deque<task_spec> sent;  // written and not answered, oldest first
  bool closing = false;        // takes no more tasks
  std::chrono::steady_clock::time_point last;
  std::thread reader;
  std::atomic<bool> done{false};
};

namespace {

/// Splits "host:port" or "[v6]:port".
bool split_address(const std::string& address, std::string& host,
                   uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= address.size())
    return false;
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint32_t value = 0;
  for (auto c : address.substr(colon + 1)) {
    if (c < '0' || c > '9' || value > 65535)
      return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535)
    return false;
  port = static_cast<uint16_t>(value);
  return true;
}

/// Writes what `out` holds as far as the socket takes it without blocking
/// (a failed connection ends in its reader).
void write_out(int fd, std::vector<char>& out) {
  size_t done = 0;
  while (done < out.size()) {
    auto n = ::send(fd, out.data() + done, out.size() - done,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += static_cast<size_t>(n);
  }
  if (done == out.size())
    out.clear();
  else if (done > 0)
    out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(done));
}

} // namespace

direct_tasks::direct_tasks(config cfg)
  : cfg_(std::move(cfg)), raylets_(cfg_.raylets) {
}

direct_tasks::~direct_tasks() {
  stop();
}

bool direct_tasks::qualifies(const task_spec& spec) const {
  return leasable(spec, cfg_.demand);
}

size_t direct_tasks::leases() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_.size();
}

bool direct_tasks::in_flight(const object_id& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return in_flight_.count(id) > 0;
}

namespace {

/// Counts the seals of the objects it watches.
class seal_counter : public seal_watch {
public:
  void sealed(const object_id&) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++count_;
    }
    cv_.notify_all();
  }

  /// Waits until `n` seals were counted or the deadline passed.
  template <class TimePoint>
  void await(size_t n, TimePoint deadline) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_until(guard, deadline, [&] { return count_ >= n; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  size_t count_ = 0;
};

} // namespace

std::optional<std::vector<uint8_t>>
direct_tasks::wait_owned(const std::vector<object_id>& ids, uint64_t num_ready,
                         caf::timespan timeout) {
  auto& objects = *cfg_.objects;
  std::vector<uint8_t> flags(ids.size(), 0);
  size_t ready = 0;
  std::vector<object_id> missing;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (objects.contains(ids[i])) {
      flags[i] = 1;
      // The first `num_ready` ready ones in input order are the answer:
      // the rest counts as not ready, whatever it is.
      if (++ready == num_ready)
        return flags;
    } else if (in_flight(ids[i])) {
      missing.push_back(ids[i]);
    } else {
      return std::nullopt;
    }
  }
  if (ready >= num_ready || missing.empty())
    return flags;
  auto w = std::make_shared<seal_counter>();
  auto watched = objects.watch_missing(missing, w);
  // Sealed before the watch went in: ready already.
  auto have = ready + (missing.size() - watched);
  if (have < num_ready) {
    using clock = std::chrono::steady_clock;
    auto infinite = timeout == caf::timespan::max() || timeout.count() < 0;
    // (A far deadline, not time_point::max(): waits convert it.)
    auto span = infinite ? clock::duration{std::chrono::hours{24 * 365}}
                         : std::chrono::duration_cast<clock::duration>(
                           timeout);
    auto deadline = clock::now() + span;
    w->await(num_ready - have, deadline);
  }
  objects.unwatch(missing, w.get());
  for (size_t i = 0; i < ids.size(); ++i)
    if (!flags[i] && objects.contains(ids[i]))
      flags[i] = 1;
  return flags;
}

bool direct_tasks::submit(task_spec& spec) {
  using clock = std::chrono::steady_clock;
  if (!qualifies(spec))
    return false;
  std::vector<char> frame;
  channel::append(frame, channel::frame_kind::task, spec);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<connection> c;
    bool grow = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return false;
      for (auto& x : open_)
        if (!c || x->sent.size() < c->sent.size())
          c = x;
      // Another worker once the ones held have work queued.
      grow = (!c || (c->sent.size() >= 2 && open_.size() < cfg_.max_leases))
             && !acquiring_ && clock::now() >= next_try_;
      if (grow)
        acquiring_ = true;
    }
    if (grow) {
      auto fresh = acquire();
      std::lock_guard<std::mutex> guard{mtx_};
      acquiring_ = false;
      if (fresh && !stopped_) {
        open_.push_back(fresh);
        c = fresh;
      } else {
        // None to be had: ask again a little later, not per task.
        next_try_ = clock::now() + std::chrono::milliseconds{50};
      }
    }
    if (!c)
      return false;
    std::lock_guard<std::mutex> writing{c->write_mtx};
    bool idle = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (c->closing)
        continue;
      idle = c->sent.empty();
      in_flight_.emplace(spec.return_id(), on_arrival::keep);
      c->sent.emplace_back(std::move(spec));
      c->last = clock::now();
    }
    c->out.insert(c->out.end(), frame.begin(), frame.end());
    // An idle worker gets it at once; a busy one with its next results.
    // A connection that fails here ends in the reader, which runs or fails
    // what it owed.
    constexpr size_t plenty = 64 * 1024;
    if (idle || c->out.size() >= plenty)
      write_out(c->fd.get(), c->out);
    return true;
  }
  return false;
}

bool direct_tasks::released(const object_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!in_flight_.empty())
    if (auto i = in_flight_.find(id); i != in_flight_.end()) {
      // Promoted already: the store gets it, and its release after it.
      i->second = i->second == on_arrival::promote
                    ? on_arrival::promote_released
                    : on_arrival::drop;
      return true;
    }
  if (!wanted_.empty())
    wanted_.erase(id);
  return held_.erase(id) > 0;
}

void direct_tasks::adopt(const object_id& id, const object_payload& payload) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!wanted_.empty() && wanted_.erase(id) > 0) {
    cfg_.store(id, payload);
    return;
  }
  held_.insert(id);
}

void direct_tasks::promote(const object_id& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!in_flight_.empty())
    if (auto i = in_flight_.find(id); i != in_flight_.end()) {
      if (i->second == on_arrival::keep)
        i->second = on_arrival::promote;
      return;
    }
  if (held_.erase(id) == 0) {
    // Not here yet: it may come some other way (adopt), or it is the
    // store's anyway (a task that ran through the raylet); forgotten when
    // its ref dies.
    wanted_.insert(id);
    return;
  }
  if (auto payload = cfg_.objects->find(id))
    cfg_.store(id, std::move(*payload));
}

void direct_tasks::promote(const std::vector<object_id>& ids) {
  for (auto& id : ids)
    promote(id);
}

std::shared_ptr<direct_tasks::connection> direct_tasks::acquire() {
  // Threads of leases that ended go first.
  std::vector<std::shared_ptr<connection>> ended;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto keep = all_.begin();
    for (auto& c : all_) {
      if (c->done.load())
        ended.push_back(std::move(c));
      else
        *keep++ = std::move(c);
    }
    all_.erase(keep, all_.end());
  }
  for (auto& c : ended)
    if (c->reader.joinable())
      c->reader.join();
  std::vector<raylet_actor> raylets;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    raylets = raylets_;
  }
  std::vector<worker_lease> granted;
  {
    caf::scoped_actor self{*cfg_.sys};
    for (auto& raylet : raylets) {
      // A dead node's raylet never answers (CAF-NOTES pitfall 3): a short
      // timeout, and it is not asked again.
      bool gone = false;
      self
        ->request(raylet, std::chrono::seconds{1}, lease_atom_v, cfg_.demand,
                  uint32_t{1})
        .receive([&](std::vector<worker_lease>& x) { granted = std::move(x); },
                 [&](caf::error&) { gone = true; });
      if (gone) {
        std::lock_guard<std::mutex> guard{mtx_};
        raylets_.erase(std::remove(raylets_.begin(), raylets_.end(), raylet),
                       raylets_.end());
      }
      if (!granted.empty())
        break;
    }
  }
  if (granted.empty())
    return nullptr;
  // More than asked for would be a raylet's mistake: the others go back
  // when their workers see no driver connect.
  auto& lease = granted.front();
  std::string host;
  uint16_t port = 0;
  if (!split_address(lease.address, host, port))
    return nullptr;
  std::string why;
  auto fd = transfer_wire::connect_tcp(host, port, why);
  if (!fd)
    return nullptr;
  std::vector<char> hello;
  channel::append(hello, channel::frame_kind::hello, lease.token);
  if (!transfer_wire::send_all(fd.get(), hello.data(), hello.size()))
    return nullptr;
  auto c = std::make_shared<connection>();
  c->fd = std::move(fd);
  c->last = std::chrono::steady_clock::now();
  c->reader = std::thread{[this, c] { read_loop(c); }};
  std::lock_guard<std::mutex> guard{mtx_};
  all_.push_back(c);
  return c;
}

void direct_tasks::read_loop(std::shared_ptr<connection> c) {
  using clock = std::chrono::steady_clock;
  channel::reader in;
  bool bye = false;
  int fd = c->fd.get();
  std::vector<object_id> ids;
  std::vector<object_payload> payloads;
  std::vector<object_id> stored;
  std::vector<on_arrival> fates;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    auto rc = ::poll(&p, 1, 20);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc == 0) {
      // Idle long enough: the lease goes back. The worker sees the end of
      // the stream, closes, and tells its raylet.
      std::lock_guard<std::mutex> guard{mtx_};
      if (!c->closing && c->sent.empty()
          && clock::now() - c->last > cfg_.linger) {
        c->closing = true;
        open_.erase(std::remove(open_.begin(), open_.end(), c), open_.end());
        ::shutdown(fd, SHUT_WR);
      }
      continue;
    }
    auto n = ::read(fd, in.space(64 * 1024), 64 * 1024);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    in.filled(static_cast<size_t>(n));
    channel::frame f;
    bool bad = false;
    while (in.next(f, bad)) {
      if (f.kind == channel::frame_kind::bye) {
        bye = true;
        continue;
      }
      ids.clear();
      payloads.clear();
      stored.clear();
      if (f.kind != channel::frame_kind::results
          || !f.decode(ids, payloads, stored)
          || ids.size() != payloads.size()) {
        bad = true;
        break;
      }
      fates.assign(ids.size(), on_arrival::drop);
      {
        std::lock_guard<std::mutex> guard{mtx_};
        // What becomes of each result: kept here, or also (or only) the
        // store's.
        auto answered = [&](const object_id& id) {
          auto& sent = c->sent;
          if (!sent.empty() && sent.front().id == id.task) {
            sent.pop_front();
          } else {
            for (auto i = sent.begin(); i != sent.end(); ++i)
              if (i->id == id.task) {
                sent.erase(i);
                break;
              }
          }
          auto i = in_flight_.find(id);
          if (i == in_flight_.end())
            return on_arrival::drop;
          auto what = i->second;
          in_flight_.erase(i);
          return what;
        };
        for (size_t i = 0; i < ids.size(); ++i)
          fates[i] = answered(ids[i]);
        for (auto& id : stored)
          answered(id);
        c->last = clock::now();
        // Under the lock: a ref that dies from now on finds the result in
        // place and erases it.
        for (size_t i = 0; i < ids.size(); ++i) {
          switch (fates[i]) {
            case on_arrival::keep:
              held_.insert(ids[i]);
              cfg_.objects->insert(ids[i], std::move(payloads[i]));
              break;
            case on_arrival::promote:
              cfg_.objects->insert(ids[i], payloads[i]);
              cfg_.store(ids[i], std::move(payloads[i]));
              break;
            case on_arrival::promote_released:
              cfg_.store(ids[i], std::move(payloads[i]));
              cfg_.release(ids[i]);
              break;
            case on_arrival::drop:
              break;
          }
        }
      }
    }
    if (bad)
      break;
    // The worker made progress: the tasks that gathered meanwhile go.
    std::lock_guard<std::mutex> writing{c->write_mtx};
    if (!c->out.empty())
      write_out(fd, c->out);
  }
  lost(*c, bye);
  c->done = true;
}

void direct_tasks::lost(connection& c, bool bye) {
  std::deque<task_spec> owed;
  bool stopping = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    c.closing = true;
    open_.erase(std::remove_if(open_.begin(), open_.end(),
                               [&](auto& x) { return x.get() == &c; }),
                open_.end());
    // A task whose result nobody wants any more does not run again.
    for (auto& spec : c.sent) {
      auto i = in_flight_.find(spec.return_id());
      if (i == in_flight_.end())
        continue;
      auto dropped = i->second == on_arrival::drop;
      in_flight_.erase(i);
      if (!dropped)
        owed.emplace_back(std::move(spec));
    }
    c.sent.clear();
    stopping = stopped_;
    c.fd.reset();
  }
  if (stopping || owed.empty())
    return;
  // Without a bye the worker is gone: the oldest task owed was running.
  if (!bye) {
    auto& first = owed.front();
    if (first.max_retries <= 0) {
      object_payload failure;
      failure.error_code = static_cast<uint8_t>(errc::worker_died);
      failure.error.code = failure.error_code;
      failure.error.task = first.id;
      failure.error.function = first.function;
      failure.error.message = "the worker process running the task died "
                              "and no retries were left";
      failure.error.time_ns
        = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count();
      cfg_.fail(first.return_id(), std::move(failure));
      owed.pop_front();
    } else {
      --first.max_retries;
    }
  }
  for (auto& spec : owed)
    cfg_.resubmit(std::move(spec));
}

void direct_tasks::stop() {
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_ && all_.empty())
      return;
    stopped_ = true;
    all.swap(all_);
    for (auto& c : all)
      if (c->fd)
        ::shutdown(c->fd.get(), SHUT_RDWR);
  }
  for (auto& c : all)
    if (c->reader.joinable())
      c->reader.join();
}

} // namespace cafray::detail
