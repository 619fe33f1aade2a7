#include "object_store/transfer_wire.hpp"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace cafray::transfer_wire {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

bool event_loop::open() {
  epoll = unique_fd{::epoll_create1(EPOLL_CLOEXEC)};
  if (!epoll)
    return false;
  wake = unique_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!wake)
    return false;
  return add(wake.get(), EPOLLIN, 0);
}

void event_loop::notify() noexcept {
  uint64_t one = 1;
  // Only fails when the counter would overflow: the loop is awake anyway.
  [[maybe_unused]] auto n = ::write(wake.get(), &one, sizeof(one));
}

void event_loop::drain() noexcept {
  uint64_t value = 0;
  [[maybe_unused]] auto n = ::read(wake.get(), &value, sizeof(value));
}

bool event_loop::add(int fd, uint32_t events, uint64_t tag) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool event_loop::modify(int fd, uint32_t events, uint64_t tag) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void event_loop::remove(int fd) noexcept {
  ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
}

std::string errno_text(const char* what) {
  std::string result = what;
  result += ": ";
  result += std::strerror(errno);
  return result;
}

unique_fd listen_tcp(const std::string& host, uint16_t port, uint16_t& bound,
                     std::string& why, bool* bad_address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                              service.c_str(), &hints, &found);
      rc != 0) {
    why = ::gai_strerror(rc);
    if (bad_address)
      *bad_address = true;
    return {};
  }
  unique_fd result;
  for (auto ai = found; ai != nullptr; ai = ai->ai_next) {
    unique_fd fd{::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol)};
    if (!fd) {
      why = errno_text("socket");
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0
        || ::listen(fd.get(), 128) != 0) {
      why = errno_text("bind");
      continue;
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    bound = ntohs(addr.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    result = std::move(fd);
    break;
  }
  ::freeaddrinfo(found);
  return result;
}

bool send_all(int fd, const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    auto n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

unique_fd connect_tcp(const std::string& host, uint16_t port,
                      std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    why = ::gai_strerror(rc);
    return {};
  }
  unique_fd result;
  for (auto ai = found; ai != nullptr && !result; ai = ai->ai_next) {
    unique_fd fd{::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                          ai->ai_protocol)};
    if (!fd) {
      why = errno_text("socket");
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      why = errno_text("connect");
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    result = std::move(fd);
  }
  ::freeaddrinfo(found);
  return result;
}

} // namespace cafray::transfer_wire
