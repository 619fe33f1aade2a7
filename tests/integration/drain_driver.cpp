// A driver for the drain test (drain.sh); built both as a program and,
// from the same source, as the code library the nodes load.
//   drain_driver FILE N
//     submits one task needing {solo: 1} that sleeps 2 s, then N tasks
//     needing {slot: 1} that sleep 300 ms each; every run appends
//     "start KEY PPID" and "end KEY PPID" to FILE (PPID: the caf-node
//     process whose worker ran it). Prints "results C of N+1 correct" once
//     every result is in, then waits (at most 20 s) until the GCS nodes
//     table shows a node dead and prints "gcs nodes alive A dead D
//     draining R". Then passes every result to a task (run where the
//     results' store copies are: the node's were handed to the head) and
//     prints "second round C of N+1 correct".
//   drain_driver FILE late
//     two tasks needing {solo: 1} that sleep 3 s (keys 100 and 101), the
//     first with no retries, the second with two; prints "submitted 2",
//     then what get gives for each: "late 100 VALUE|error CODE".
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "cafray/cafray.hpp"
#include "proto/record_codec.hpp"

namespace {

/// One line, one write: lines of concurrent runs never interleave.
void note(const std::string& path, const std::string& what, int64_t key) {
  auto line = what + " " + std::to_string(key) + " "
              + std::to_string(::getppid()) + "\n";
  auto fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0)
    return;
  auto written = ::write(fd, line.data(), line.size());
  static_cast<void>(written);
  ::close(fd);
}

} // namespace

int64_t noted_square(int64_t key, int64_t sleep_ms, std::string path) {
  note(path, "start", key);
  std::this_thread::sleep_for(std::chrono::milliseconds{sleep_ms});
  note(path, "end", key);
  return key * key;
}
CAFRAY_REMOTE(noted_square);

int64_t plus_one(int64_t x) {
  return x + 1;
}
CAFRAY_REMOTE(plus_one);

namespace {

struct node_counts {
  int alive = 0;
  int dead = 0;
  int draining = 0;
};

node_counts gcs_nodes() {
  auto& r = cafray::detail::rt();
  node_counts result;
  caf::scoped_actor self{*r.sys};
  for (auto& shard : r.gcs.shards())
    self
      ->request(shard, std::chrono::seconds{10}, cafray::scan_atom_v,
                static_cast<uint8_t>(cafray::gcs_table::nodes), std::string{})
      .receive(
        [&](std::vector<cafray::kv_entry>& rows) {
          for (auto& row : rows)
            if (auto rec = cafray::decode_record<cafray::node_record>(
                  row.value)) {
              ++(rec->alive ? result.alive : result.dead);
              result.draining += rec->draining ? 1 : 0;
            }
        },
        [](caf::error&) {});
  return result;
}

int run(const std::string& path, int64_t n) {
  std::vector<cafray::object_ref<int64_t>> refs;
  // Key 0: only the node can run it, long enough to watch it drain.
  refs.push_back(cafray::task(noted_square)
                   .resources({{"solo", 1}})
                   .remote(int64_t{0}, int64_t{2000}, path));
  for (int64_t key = 1; key <= n; ++key)
    refs.push_back(cafray::task(noted_square)
                     .resources({{"slot", 1}})
                     .remote(key, int64_t{300}, path));
  std::cout << "submitted " << refs.size() << std::endl;
  int64_t correct = 0;
  for (int64_t key = 0; key <= n; ++key) {
    try {
      auto v = cafray::get(refs[static_cast<size_t>(key)],
                           std::chrono::seconds{60});
      correct += v == key * key ? 1 : 0;
      if (v != key * key)
        std::cout << "wrong result for " << key << ": " << v << std::endl;
    } catch (const cafray::error& e) {
      std::cout << "error for " << key << ": " << cafray::to_string(e.code())
                << std::endl;
    }
  }
  std::cout << "results " << correct << " of " << n + 1 << " correct"
            << std::endl;
  auto nodes = gcs_nodes();
  for (int i = 0; i < 200 && nodes.dead == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    nodes = gcs_nodes();
  }
  std::cout << "gcs nodes alive " << nodes.alive << " dead " << nodes.dead
            << " draining " << nodes.draining << std::endl;
  // The node is gone: its results are read from the head's store.
  std::vector<cafray::object_ref<int64_t>> again;
  for (auto& ref : refs)
    again.push_back(cafray::task(plus_one).remote(ref));
  int64_t second = 0;
  for (int64_t key = 0; key <= n; ++key) {
    try {
      auto v = cafray::get(again[static_cast<size_t>(key)],
                           std::chrono::seconds{20});
      second += v == key * key + 1 ? 1 : 0;
    } catch (const cafray::error& e) {
      std::cout << "second round error for " << key << ": "
                << cafray::to_string(e.code()) << std::endl;
    }
  }
  std::cout << "second round " << second << " of " << n + 1 << " correct"
            << std::endl;
  return 0;
}

int late(const std::string& path) {
  auto once = cafray::task(noted_square)
                .resources({{"solo", 1}})
                .max_retries(0)
                .remote(int64_t{100}, int64_t{3000}, path);
  auto retried = cafray::task(noted_square)
                   .resources({{"solo", 1}})
                   .max_retries(2)
                   .remote(int64_t{101}, int64_t{3000}, path);
  std::cout << "submitted 2" << std::endl;
  for (auto* ref : {&once, &retried}) {
    auto key = ref == &once ? 100 : 101;
    try {
      auto v = cafray::get(*ref, std::chrono::seconds{60});
      std::cout << "late " << key << " " << v << std::endl;
    } catch (const cafray::error& e) {
      std::cout << "late " << key << " error " << cafray::to_string(e.code())
                << std::endl;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: drain_driver FILE N|late\n";
    return 2;
  }
  cafray::init();
  auto rc = std::string{argv[2]} == "late" ? late(argv[1])
                                            : run(argv[1], std::atoll(argv[2]));
  cafray::shutdown();
  return rc;
}
