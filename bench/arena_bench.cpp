// cafray-arena-bench: the node's shared-memory arena in cluster mode. Starts
// a caf-node head (its own process, with worker processes off), joins it as
// a driver on the same machine and measures
//   - put of a 256 MiB std::vector<uint8_t> (--put-mib) from the driver
//     into the head's arena (reserve a region by message, copy, seal by
//     message; the first put backs fresh pages, later ones reuse them);
//   - get_view of a 1 GiB std::vector<double> (--view-mib) and of a 1 MiB
//     one: the driver's own put (its pinned copy, no message) and a reader
//     that asks the store (one round trip; the view points into the arena).
// Figures only, never a test. See README.md.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "api/detail/runtime_state.hpp"
#include "cafray/cafray.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr uint64_t mib = 1 << 20;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct head_process {
  pid_t pid = -1;
  std::string address;

  ~head_process() {
    if (pid <= 0)
      return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

/// Starts the head (before any thread exists here) and reads its address
/// from the "listening on" line.
bool start_head(head_process& head, uint64_t arena_mib) {
  int out[2];
  if (::pipe(out) != 0)
    return false;
  head.pid = ::fork();
  if (head.pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    auto arena = "--cafray.object-store-mb=" + std::to_string(arena_mib);
    ::execl(CAFRAY_NODE_EXE, CAFRAY_NODE_EXE, "--cafray.role=\"head\"",
            "--cafray.port=0", "--cafray.num-cpus=1",
            "--cafray.worker-processes=false", "--scheduler.max-threads=2",
            arena.c_str(), static_cast<char*>(nullptr));
    std::perror("exec caf-node");
    std::_Exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[256];
  for (;;) {
    auto n = ::read(out[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    text.append(buf, static_cast<size_t>(n));
    auto at = text.find("listening on ");
    if (at != std::string::npos) {
      auto end = text.find_first_of(" \n", at + 13);
      if (end != std::string::npos) {
        head.address = text.substr(at + 13, end - at - 13);
        break;
      }
    }
  }
  // The head keeps writing to a pipe nobody reads: a closed read end would
  // kill it with SIGPIPE, so keep it open (it prints little).
  return !head.address.empty();
}

uint64_t arena_used() {
  return cafray::object_store_stats().arena_used;
}

/// Waits until the store's arena is back to `used` bytes (releases travel
/// asynchronously).
void await_arena(uint64_t used) {
  for (int i = 0; i < 2000 && arena_used() != used; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

void row(const char* name, std::vector<double> xs, const char* unit) {
  std::sort(xs.begin(), xs.end());
  std::printf("%-44s %10.2f %10.2f %10.2f  %s\n", name, xs[xs.size() / 2],
              xs.front(), xs.back(), unit);
}

/// Per-view time in microseconds of `n` views made by `view`.
template <class F>
double time_views(int n, F view) {
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i)
    view();
  return seconds_since(start) * 1e6 / n;
}

} // namespace

int main(int argc, char** argv) {
  uint64_t put_mib = 256;
  uint64_t view_mib = 1024;
  int trials = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--put-mib" && i + 1 < argc)
      put_mib = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--view-mib" && i + 1 < argc)
      view_mib = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--trials" && i + 1 < argc)
      trials = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--put-mib N] [--view-mib N] "
                           "[--trials N]\n", argv[0]);
      return 2;
    }
  }
  head_process head;
  if (!start_head(head, put_mib * 2 + view_mib + 64)) {
    std::fprintf(stderr, "the head did not start\n");
    return 1;
  }
  cafray::runtime_config cfg;
  cfg.address = head.address;
  cafray::init(cfg);
  auto& r = cafray::detail::rt();
  if (!r.arena || !r.arena->attached()) {
    std::fprintf(stderr, "the driver did not map the head's arena\n");
    cafray::shutdown();
    return 1;
  }
  std::printf("cafray-arena-bench: head at %s, arena %" PRIu64 " MiB\n",
              head.address.c_str(), r.arena->arena()->capacity() / mib);
  std::printf("%-44s %10s %10s %10s\n", "", "median", "min", "max");
  // -- put ------------------------------------------------------------------
  std::vector<uint8_t> data(put_mib * mib, 7);
  auto base = arena_used();
  std::vector<double> cold;
  std::vector<double> warm;
  for (int i = 0; i <= trials; ++i) {
    auto start = clock_type::now();
    auto ref = cafray::put(data);
    auto secs = seconds_since(start);
    (i == 0 ? cold : warm).push_back(static_cast<double>(data.size()) / secs
                                     / 1e9);
    ref = {};
    await_arena(base);
  }
  auto name = "put " + std::to_string(put_mib) + " MiB into the arena";
  row((name + ", first (fresh pages)").c_str(), cold, "GB/s");
  row((name + ", again (warm region)").c_str(), warm, "GB/s");
  data = {};
  // -- views ----------------------------------------------------------------
  for (auto size_mib : {uint64_t{1}, view_mib}) {
    auto start = clock_type::now();
    auto ref = cafray::put(std::vector<double>(size_mib * mib / 8, 1.0));
    auto put_secs = seconds_since(start);
    auto label = std::to_string(size_mib) + " MiB";
    if (size_mib == view_mib)
      std::printf("%-44s %10.2f  s (incl. building the vector)\n",
                  ("put of the " + label + " object").c_str(), put_secs);
    std::vector<double> own;
    for (int t = 0; t < trials; ++t)
      own.push_back(time_views(1000, [&] {
        auto v = cafray::get_view(ref);
        if (v.size() != size_mib * mib / 8)
          std::abort();
      }));
    row(("get_view " + label + ", own put").c_str(), own, "us per view");
    // A reader that did not put it: every view asks the store, which pins
    // the object for this process and answers with its place.
    r.objects->erase(ref.id());
    std::vector<double> asked;
    int64_t offset = -1;
    for (int t = 0; t < trials; ++t)
      asked.push_back(time_views(200, [&] {
        auto v = cafray::get_view(ref);
        offset = cafray::arena_offset(v.data());
      }));
    if (offset < 0) {
      std::fprintf(stderr, "the view is not in the arena\n");
      return 1;
    }
    row(("get_view " + label + ", via the store").c_str(), asked,
        "us per view");
  }
  cafray::shutdown();
  return 0;
}
