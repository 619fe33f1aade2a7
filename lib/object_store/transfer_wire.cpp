#include "object_store/transfer_wire.hpp"

#include <cerrno>
#include <cstring>

#include <sys/epoll.h>
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

} // namespace cafray::transfer_wire
