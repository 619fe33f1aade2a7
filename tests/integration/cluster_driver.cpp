// A driver for the cluster test (cluster.sh); built both as a program and,
// from the same source, as the code library the nodes load.
//   cluster_driver tree     1,024-leaf tree reduce; prints the sum and how
//                           many nodes the GCS saw running its tasks
//   cluster_driver pinned   a task that needs {special: 1} reads a 64 MiB
//                           object put by the driver; prints the bytes
//                           that matched
//   cluster_driver crash FILE RETRIES
//                           a task that appends its worker's pid to FILE
//                           and sleeps 3 s (cluster.sh kills that worker);
//                           prints the pid of the run that finished and
//                           how many runs there were, or the error
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <cstdint>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <caf/scoped_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "cafray/cafray.hpp"
#include "proto/record_codec.hpp"

int64_t leaf(int64_t i) {
  // Long enough that the head's CPUs fall behind and tasks spill.
  std::this_thread::sleep_for(std::chrono::milliseconds{2});
  return i;
}
CAFRAY_REMOTE(leaf);

int64_t add(int64_t x, int64_t y) {
  return x + y;
}
CAFRAY_REMOTE(add);

uint8_t pattern(uint64_t i) {
  return static_cast<uint8_t>((i * 7 + 3) & 0xff);
}

uint64_t count_matching(std::vector<uint8_t> data) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < data.size(); ++i)
    n += data[i] == pattern(i) ? 1 : 0;
  return n;
}
CAFRAY_REMOTE(count_matching);

int64_t note_pid_and_sleep(std::string path) {
  {
    std::ofstream out{path, std::ios::app};
    out << ::getpid() << std::endl;
  }
  std::this_thread::sleep_for(std::chrono::seconds{3});
  return ::getpid();
}
CAFRAY_REMOTE(note_pid_and_sleep);

namespace {

/// Distinct nodes named by task rows in the GCS (tasks that waited or ran
/// there, not the ones only spilled from there).
size_t nodes_that_ran_tasks() {
  auto& r = cafray::detail::rt();
  std::set<cafray::node_id> nodes;
  caf::scoped_actor self{*r.sys};
  for (auto& shard : r.gcs.shards())
    self
      ->request(shard, std::chrono::seconds{10}, cafray::scan_atom_v,
                static_cast<uint8_t>(cafray::gcs_table::tasks), std::string{})
      .receive(
        [&](std::vector<cafray::kv_entry>& rows) {
          for (auto& row : rows)
            if (auto recs = cafray::decode_segment(row.value))
              for (auto& rec : *recs)
                if (rec.state
                  != static_cast<uint8_t>(cafray::task_state::spilled))
                  nodes.insert(rec.node);
        },
        [&](caf::error& err) {
          std::cerr << "scan failed: " << caf::to_string(err) << "\n";
        });
  return nodes.size();
}

int tree() {
  std::vector<cafray::object_ref<int64_t>> level;
  for (int64_t i = 0; i < 1024; ++i)
    level.push_back(cafray::task(leaf).remote(i));
  while (level.size() > 1) {
    std::vector<cafray::object_ref<int64_t>> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(cafray::task(add).remote(level[i], level[i + 1]));
    level = std::move(next);
  }
  std::cout << "sum " << cafray::get(level.front()) << "\n";
  // Task rows reach the GCS on the raylets' next heartbeat.
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  std::cout << "nodes " << nodes_that_ran_tasks() << "\n";
  return 0;
}

int pinned() {
  std::vector<uint8_t> data(64 << 20);
  for (uint64_t i = 0; i < data.size(); ++i)
    data[i] = pattern(i);
  auto ref = cafray::put(data);
  auto n = cafray::task(count_matching)
             .resources({{"special", 1}})
             .remote(ref);
  std::cout << "matched " << cafray::get(n) << " of " << data.size() << "\n";
  return 0;
}

int crash(const std::string& path, int32_t retries) {
  auto ref = cafray::task(note_pid_and_sleep).max_retries(retries).remote(path);
  auto start = std::chrono::steady_clock::now();
  try {
    auto pid = cafray::get(ref);
    std::ifstream in{path};
    int runs = 0;
    std::string line;
    while (std::getline(in, line))
      ++runs;
    std::cout << "finished in pid " << pid << " after " << runs << " runs"
              << std::endl;
  } catch (const cafray::error& e) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
    std::cout << "error " << cafray::to_string(e.code()) << " after " << ms
              << " ms" << std::endl;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "";
  if (what != "tree" && what != "pinned" && !(what == "crash" && argc == 4)) {
    std::cerr << "usage: cluster_driver tree|pinned|crash FILE RETRIES\n";
    return 2;
  }
  cafray::init();
  auto rc = what == "tree"     ? tree()
            : what == "pinned" ? pinned()
                               : crash(argv[2], std::atoi(argv[3]));
  cafray::shutdown();
  return rc;
}
