// transfer-bench: how fast the object transfer path (object_store/transfer)
// moves one object between two processes over loopback. A child process
// runs a transfer_server over a pre-faulted 1 GiB buffer; this process pulls
// 64 MiB, 256 MiB and 1 GiB objects from it into a pre-faulted destination
// (what a node's shared-memory arena is) and prints GB/s (10^9 bytes/s):
// mean, min and max over --runs pulls. A further row pulls into freshly
// allocated memory, which pays its page faults; two more pull 256 x 1 MiB
// and 1024 x 64 KiB objects, 8 at a time. Figures only, never
// pass/fail; plain TCP rows (a blocking send loop to a recv loop between
// the same two processes) give the ceiling of the moment. The exit code is
// 1 only when a pull failed or its bytes were wrong. See bench/README.md.
//
//   transfer-bench [--runs N] [--chunk MiB] [--inflight N] [--in-process]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "object_store/transfer.hpp"

namespace {

using namespace cafray;
using clock_type = std::chrono::steady_clock;

constexpr uint64_t mib = 1ull << 20;
constexpr uint64_t largest = 1024 * mib;

object_id object_of_size(uint64_t size) {
  return object_id{task_id{0xbe7c4, size}, 1};
}

char byte_at(uint64_t i) {
  return static_cast<char>((i * 2654435761u) >> 13);
}

/// Pre-faulted anonymous memory (huge pages where the kernel allows).
char* prefaulted(uint64_t size) {
  auto p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  ::madvise(p, size, MADV_HUGEPAGE);
  return static_cast<char*>(p);
}

/// Serves prefixes of one 1 GiB buffer as objects of their sizes.
std::unique_ptr<transfer_server> make_server(const char* data) {
  auto resolve = [data](const object_id& id) -> std::optional<transfer_source> {
    if (id.task.hi != 0xbe7c4 || id.task.lo > largest)
      return std::nullopt;
    return transfer_source{data, id.task.lo, nullptr};
  };
  transfer_server_config cfg;
  cfg.host = "127.0.0.1";
  auto server = std::make_unique<transfer_server>(cfg, resolve);
  if (auto err = server->start()) {
    std::fprintf(stderr, "server: %s\n", render(err).c_str());
    std::exit(1);
  }
  return server;
}

char* source_bytes() {
  auto data = prefaulted(largest);
  for (uint64_t i = 0; i < largest; ++i)
    data[i] = byte_at(i);
  return data;
}

/// A listening socket on 127.0.0.1 and its port.
int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::listen(fd, 4) != 0) {
    std::perror("raw listener");
    std::exit(1);
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

/// The reference: plain blocking TCP, no protocol. Each connection asks for
/// one size (8 bytes) and gets that many bytes of `data` in one send loop.
void serve_raw(int listener, const char* data) {
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0)
      return;
    uint64_t size = 0;
    if (::recv(fd, &size, sizeof(size), MSG_WAITALL) == sizeof(size))
      for (uint64_t sent = 0; sent < size;) {
        auto n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0)
          break;
        sent += static_cast<uint64_t>(n);
      }
    ::close(fd);
  }
}

struct ports {
  uint16_t transfer = 0;
  uint16_t raw = 0;
};

/// The child: serves until the parent closes `ctl` (or dies).
[[noreturn]] void serve(int port_out, int ctl) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto data = source_bytes();
  auto server = make_server(data);
  ports p;
  p.transfer = server->port();
  int raw = listen_loopback(p.raw);
  std::thread raw_thread{[raw, data] { serve_raw(raw, data); }};
  raw_thread.detach();  // ends with the process
  if (::write(port_out, &p, sizeof(p)) != sizeof(p))
    std::_Exit(1);
  char c;
  while (::read(ctl, &c, 1) > 0) {
  }
  server->stop();
  std::_Exit(0);
}

/// One plain-TCP transfer of `size` bytes into `dest`; seconds or -1.
double raw_once(uint16_t port, uint64_t size, char* dest) {
  auto start = clock_type::now();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  uint64_t got = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
      && ::send(fd, &size, sizeof(size), 0) == sizeof(size))
    while (got < size) {
      auto n = ::recv(fd, dest + got, size - got, 0);
      if (n <= 0)
        break;
      got += static_cast<uint64_t>(n);
    }
  ::close(fd);
  if (got != size)
    return -1;
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct options {
  int runs = 5;
  uint64_t chunk = 4 * mib;
  int inflight = 4;
  bool in_process = false;
};

/// One pull; seconds, or a negative value on failure.
double pull_once(transfer_client& client, uint16_t port, uint64_t size,
                 char* dest) {
  std::promise<caf::expected<uint64_t>> done;
  auto start = clock_type::now();
  client.pull(
    {"127.0.0.1", port}, object_of_size(size),
    [dest](uint64_t) -> caf::expected<char*> { return dest; },
    [&](caf::expected<uint64_t> r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  auto s = std::chrono::duration<double>(clock_type::now() - start).count();
  if (!r) {
    std::fprintf(stderr, "pull of %" PRIu64 " bytes: %s\n", size,
                 render(r.error()).c_str());
    return -1;
  }
  for (uint64_t i : {uint64_t{0}, size / 3, size / 2 + 1, size - 1})
    if (dest[i] != byte_at(i)) {
      std::fprintf(stderr, "pull of %" PRIu64 " bytes: wrong byte at %" PRIu64
                   "\n", size, i);
      return -1;
    }
  return s;
}

/// `count` pulls of `size` bytes submitted at once (the client runs 8 at a
/// time); seconds for all of them, or -1 on failure.
double many_once(transfer_client& client, uint16_t port, uint64_t size,
                 int count, char* dest) {
  std::atomic<int> left{count};
  std::atomic<bool> failed{false};
  std::promise<void> all_done;
  auto start = clock_type::now();
  for (int i = 0; i < count; ++i) {
    auto slot = dest + (i % 64) * size;
    client.pull(
      {"127.0.0.1", port}, object_of_size(size),
      [slot](uint64_t) -> caf::expected<char*> { return slot; },
      [&, slot](caf::expected<uint64_t> r) {
        if (!r || slot[size - 1] != byte_at(size - 1))
          failed = true;
        if (--left == 0)
          all_done.set_value();
      });
  }
  all_done.get_future().wait();
  auto s = std::chrono::duration<double>(clock_type::now() - start).count();
  return failed ? -1 : s;
}

void row(const char* name, uint64_t size, const std::vector<double>& secs) {
  std::vector<double> rates;
  for (auto s : secs)
    rates.push_back(static_cast<double>(size) / s / 1e9);
  double sum = 0;
  for (auto r : rates)
    sum += r;
  std::printf("%-28s %8.2f %8.2f %8.2f   %zu\n", name, sum / rates.size(),
              *std::min_element(rates.begin(), rates.end()),
              *std::max_element(rates.begin(), rates.end()), rates.size());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--runs")
      opt.runs = std::max(1, std::atoi(next()));
    else if (a == "--chunk")
      opt.chunk = std::max<uint64_t>(1, std::strtoull(next(), nullptr, 10))
                  * mib;
    else if (a == "--inflight")
      opt.inflight = std::max(1, std::atoi(next()));
    else if (a == "--in-process")
      opt.in_process = true;
    else {
      std::fprintf(stderr, "usage: %s [--runs N] [--chunk MiB] "
                           "[--inflight N] [--in-process]\n", argv[0]);
      return 2;
    }
  }
  std::unique_ptr<transfer_server> local;
  uint16_t port = 0;
  ports child_ports;
  pid_t child = -1;
  int ctl[2] = {-1, -1};
  if (opt.in_process) {
    local = make_server(source_bytes());
    port = local->port();
  } else {
    int port_pipe[2];
    if (::pipe(port_pipe) != 0 || ::pipe(ctl) != 0) {
      std::perror("pipe");
      return 1;
    }
    child = ::fork();  // before any thread exists in this process
    if (child == 0) {
      ::close(port_pipe[0]);
      ::close(ctl[1]);
      serve(port_pipe[1], ctl[0]);
    }
    ::close(port_pipe[1]);
    ::close(ctl[0]);
    if (::read(port_pipe[0], &child_ports, sizeof(child_ports))
        != sizeof(child_ports)) {
      std::fprintf(stderr, "the server process did not start\n");
      return 1;
    }
    port = child_ports.transfer;
    ::close(port_pipe[0]);
  }
  transfer_client_config cfg;
  cfg.chunk_size = opt.chunk;
  cfg.chunks_in_flight = opt.inflight;
  transfer_client client{cfg};
  auto dest = prefaulted(largest);
  std::printf("transfer-bench: %s, chunk %" PRIu64 " MiB, %d in flight\n",
              opt.in_process ? "server in this process"
                             : "server in a second process",
              opt.chunk / mib, opt.inflight);
  std::printf("%-28s %8s %8s %8s   %s\n", "pull over 127.0.0.1", "GB/s",
              "min", "max", "runs");
  int rc = 0;
  pull_once(client, port, 64 * mib, dest);  // warm-up
  for (uint64_t size : {64 * mib, 256 * mib, 1024 * mib}) {
    std::vector<double> secs;
    for (int r = 0; r < opt.runs && rc == 0; ++r) {
      auto s = pull_once(client, port, size, dest);
      if (s < 0)
        rc = 1;
      else
        secs.push_back(s);
    }
    if (!secs.empty())
      row((std::to_string(size / mib) + " MiB").c_str(), size, secs);
  }
  // Fresh memory per pull: page faults on the receiving side.
  std::vector<double> fresh;
  for (int r = 0; r < opt.runs && rc == 0; ++r) {
    auto buf = std::make_unique<char[]>(256 * mib);
    auto s = pull_once(client, port, 256 * mib, buf.get());
    if (s < 0)
      rc = 1;
    else
      fresh.push_back(s);
  }
  if (!fresh.empty())
    row("256 MiB, fresh destination", 256 * mib, fresh);
  // Many smaller objects at once: what a pull costs beyond its bytes.
  for (auto [size, count] : {std::pair<uint64_t, int>{mib, 256},
                             std::pair<uint64_t, int>{64 * 1024, 1024}}) {
    std::vector<double> secs;
    for (int r = 0; r < opt.runs && rc == 0; ++r) {
      auto s = many_once(client, port, size, count, dest);
      if (s < 0)
        rc = 1;
      else
        secs.push_back(s);
    }
    if (!secs.empty()) {
      auto name = std::to_string(count) + " x "
                  + (size >= mib ? std::to_string(size / mib) + " MiB"
                                 : std::to_string(size / 1024) + " KiB");
      row(name.c_str(), size * count, secs);
      auto best = *std::min_element(secs.begin(), secs.end());
      std::printf("%-28s %8.0f pulls/s at best\n", "", count / best);
    }
  }
  // The ceiling on this machine right now: plain TCP, same processes.
  for (uint64_t size : {256 * mib, 1024 * mib}) {
    std::vector<double> secs;
    for (int r = 0; r < opt.runs && child_ports.raw != 0; ++r) {
      auto s = raw_once(child_ports.raw, size, dest);
      if (s > 0)
        secs.push_back(s);
    }
    if (!secs.empty())
      row(("plain TCP, " + std::to_string(size / mib) + " MiB").c_str(), size,
          secs);
  }
  client.stop();
  if (child > 0) {
    ::close(ctl[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
  }
  return rc;
}
