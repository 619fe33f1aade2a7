#pragma once

// The cafray-gcs processes of one chain-replicated GCS shard, started and
// killed by gcs-chain-bench (one coordinator, R replicas, on 127.0.0.1).

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bench {

/// Binds every thread of process `pid` ("self" for this one) to `cpu`;
/// false if any could not be bound.
inline bool pin_threads(const std::string& pid, int cpu) {
  auto dir = "/proc/" + pid + "/task";
  auto* tasks = opendir(dir.c_str());
  if (tasks == nullptr)
    return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  bool ok = true;
  while (auto* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.')
      continue;
    auto tid = static_cast<pid_t>(std::atoi(entry->d_name));
    ok = sched_setaffinity(tid, sizeof(set), &set) == 0 && ok;
  }
  closedir(tasks);
  return ok;
}

/// The cafray-gcs processes of one shard; kills them when it goes.
class shard_processes {
public:
  /// With `pin`, replica j runs on CPU j modulo the number of CPUs: the
  /// neighbours of a chain on different cores (see `pin_threads`).
  explicit shard_processes(std::string gcs,
                           std::vector<std::string> replica_args = {},
                           bool pin = false)
    : gcs_(std::move(gcs)),
      replica_args_(std::move(replica_args)),
      pin_(pin) {
    char pattern[] = "/tmp/gcs-chain-bench-XXXXXX";
    if (auto* dir = mkdtemp(pattern))
      dir_ = dir;
  }

  ~shard_processes() {
    for (auto& [id, pid] : pids_)
      kill_and_reap(pid);
    if (!dir_.empty())
      std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  shard_processes(const shard_processes&) = delete;
  shard_processes& operator=(const shard_processes&) = delete;

  /// Starts the coordinator (id 0) and replicas 1..r; the port of the
  /// coordinator, or 0.
  uint16_t start(size_t r, uint64_t lease_ms, uint64_t heartbeat_ms) {
    if (dir_.empty())
      return 0;
    std::string members;
    for (size_t id = 1; id <= r; ++id)
      members += (id > 1 ? "," : "") + std::to_string(id);
    // The failure detector looks as often as replicas heartbeat: a replica
    // whose death no monitor reports (CAF 0.17 sometimes tells a process
    // of a dead peer only after a second, seen in the coordinator's log)
    // is removed within a heartbeat of its lease running out.
    auto port = launch(0, {"coordinator", "--port=0", "--replicas=" + members,
                           "--lease-ms=" + std::to_string(lease_ms),
                           "--grace-ms=2",
                           "--check-ms=" + std::to_string(heartbeat_ms)});
    if (port == 0)
      return 0;
    for (size_t id = 1; id <= r; ++id) {
      std::vector<std::string> args{
        "replica", "--id=" + std::to_string(id),
        "--dir=" + dir_ + "/replica-" + std::to_string(id),
        "--coordinator=127.0.0.1:" + std::to_string(port),
        "--heartbeat-ms=" + std::to_string(heartbeat_ms)};
      args.insert(args.end(), replica_args_.begin(), replica_args_.end());
      if (launch(id, std::move(args)) == 0)
        return 0;
      if (pin_) {
        auto cpus = std::thread::hardware_concurrency();
        auto cpu = static_cast<int>(id % (cpus > 0 ? cpus : 1));
        if (!pin_threads(std::to_string(pids_.back().second), cpu))
          std::fprintf(stderr, "gcs-chain-bench: cannot pin replica %zu\n",
                       id);
      }
    }
    return port;
  }

  /// What process `id` wrote to stderr so far.
  std::string log_of(uint64_t id) const {
    std::ifstream in{dir_ + "/" + std::to_string(id) + ".err"};
    std::stringstream result;
    result << in.rdbuf();
    return result.str();
  }

  /// CPU time (user + system) each process used so far, in ns: this
  /// process first, then the coordinator and the replicas by id.
  std::vector<std::pair<std::string, int64_t>> cpu_times() const {
    std::vector<std::pair<std::string, int64_t>> result;
    result.emplace_back("bench", cpu_time_of("self"));
    for (auto& [id, pid] : pids_)
      result.emplace_back(id == 0 ? "coord" : "r" + std::to_string(id),
                          cpu_time_of(std::to_string(pid)));
    return result;
  }

  /// kill -9 of process `id` (0: the coordinator).
  void kill_9(uint64_t id) {
    for (auto i = pids_.begin(); i != pids_.end(); ++i)
      if (i->first == id) {
        kill_and_reap(i->second);
        pids_.erase(i);
        return;
      }
  }

private:
  /// utime + stime of /proc/WHO/stat in ns; 0 if unreadable.
  static int64_t cpu_time_of(const std::string& who) {
    std::ifstream in{"/proc/" + who + "/stat"};
    std::string line;
    if (!std::getline(in, line))
      return 0;
    // Fields after the command (which may hold spaces), from field 3 on.
    auto pos = line.rfind(')');
    if (pos == std::string::npos)
      return 0;
    std::istringstream fields{line.substr(pos + 2)};
    std::string field;
    int64_t utime = 0;
    int64_t stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14)
        utime = std::stoll(field);
      else if (i == 15)
        stime = std::stoll(field);
    }
    static const auto ticks = sysconf(_SC_CLK_TCK);
    return (utime + stime) * (1'000'000'000 / (ticks > 0 ? ticks : 100));
  }

  static void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  /// Starts a process and waits until it says "listening on PORT".
  uint16_t launch(uint64_t id, std::vector<std::string> args) {
    auto log = dir_ + "/" + std::to_string(id);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (log + ".out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (log + ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    args.insert(args.begin(), gcs_);
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    auto rc = posix_spawn(&pid, gcs_.c_str(), &actions, nullptr, argv.data(),
                          environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      std::fprintf(stderr, "gcs-chain-bench: cannot start %s: %s\n",
                   gcs_.c_str(), std::strerror(rc));
      return 0;
    }
    pids_.emplace_back(id, pid);
    for (int attempt = 0; attempt < 400; ++attempt) {
      std::ifstream in{log + ".out"};
      std::string line;
      while (std::getline(in, line))
        if (auto pos = line.rfind("listening on "); pos != std::string::npos)
          return static_cast<uint16_t>(std::stoul(line.substr(pos + 13)));
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    std::fprintf(stderr, "gcs-chain-bench: process %" PRIu64
                 " did not start (see %s.err)\n", id, log.c_str());
    return 0;
  }

  std::string gcs_;
  std::vector<std::string> replica_args_;
  bool pin_ = false;
  std::string dir_;
  std::vector<std::pair<uint64_t, pid_t>> pids_;
};

} // namespace bench
