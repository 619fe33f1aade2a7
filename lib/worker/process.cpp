#include "worker/process.hpp"

#include <cerrno>
#include <csignal>
#include <climits>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cafray {

pid_t start_process(const std::string& exe,
                    const std::vector<std::string>& args) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.push_back(exe);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& x : storage)
    argv.push_back(const_cast<char*>(x.c_str()));
  argv.push_back(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid != 0)
    return pid;
  // Child. It must not outlive the node that started it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(127);
  // The node blocks SIGINT/SIGTERM in its threads (sigwait); a worker
  // takes them normally.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(exe.c_str(), argv.data());
  ::_exit(127);
}

std::string self_executable() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  return std::string{buf, static_cast<size_t>(n)};
}

bool reap(pid_t pid, bool wait) {
  if (pid <= 0)
    return true;
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid, &status, wait ? 0 : WNOHANG);
  } while (rc < 0 && errno == EINTR);
  return rc == pid || (rc < 0 && errno == ECHILD);
}

} // namespace cafray
