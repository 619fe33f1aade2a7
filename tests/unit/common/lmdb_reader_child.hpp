#pragma once

// A child process that holds an LMDB read transaction and dies with it, to
// leave a stale reader slot behind. It is forked before the test opens any
// environment (LMDB forbids forking with one open), and opens its own.

#include <cstdlib>
#include <string>

#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

class lmdb_reader_child {
public:
  /// Forks; the child waits for `hold`.
  explicit lmdb_reader_child(const std::string& directory) {
    REQUIRE(pipe(to_child_) == 0);
    REQUIRE(pipe(from_child_) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0)
      run_child(directory);
    close(to_child_[0]);
    close(from_child_[1]);
  }

  ~lmdb_reader_child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(to_child_[1]);
    close(from_child_[0]);
  }

  /// The child opens the environment and begins a read transaction; true
  /// once it holds it.
  bool hold() {
    char c = 'h';
    if (write(to_child_[1], &c, 1) != 1)
      return false;
    return read(from_child_[0], &c, 1) == 1 && c == 'y';
  }

  /// The child exits without ending its transaction or closing the
  /// environment; returns once it is gone.
  void die() {
    char c = 'd';
    REQUIRE(write(to_child_[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    CHECK(WIFEXITED(status));
  }

private:
  [[noreturn]] void run_child(const std::string& directory) {
    close(to_child_[1]);
    close(from_child_[0]);
    char c = 0;
    if (read(to_child_[0], &c, 1) != 1)
      _exit(1);
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    bool ok = mdb_env_create(&env) == MDB_SUCCESS
              && mdb_env_set_maxdbs(env, 64) == MDB_SUCCESS
              && mdb_env_open(env, directory.c_str(), MDB_NOTLS | MDB_RDONLY,
                              0644)
                   == MDB_SUCCESS
              && mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == MDB_SUCCESS;
    c = ok ? 'y' : 'n';
    if (write(from_child_[1], &c, 1) != 1)
      _exit(1);
    static_cast<void>(read(to_child_[0], &c, 1));
    _exit(0); // holding `txn`: its slot stays behind
  }

  int to_child_[2] = {-1, -1};
  int from_child_[2] = {-1, -1};
  pid_t pid_ = -1;
};
