// A driver for the cluster test (cluster.sh); built both as a program and,
// from the same source, as the code library the nodes load.
//   cluster_driver tree     1,024-leaf tree reduce; prints the sum and how
//                           many nodes the GCS saw running its tasks
//   cluster_driver pinned   a task that needs {special: 1} reads a 64 MiB
//                           object put by the driver; prints the bytes
//                           that matched
//   cluster_driver view     a worker process on the head views a 64 MiB
//                           object put by the driver: prints where the
//                           driver and the worker see it in the head's
//                           arena and what the head's store counts
//   cluster_driver too_large
//                           a put larger than the head's arena, and a
//                           task on node 1 (arena too small) reading a
//                           64 MiB object: prints both errors
//   cluster_driver pin_death FILE
//                           a task on the head views an object, appends its
//                           worker's pid to FILE and sleeps (cluster.sh
//                           kills that worker): prints whether the store
//                           counted the worker's pin, and dropped it
//   cluster_driver direct   plain tasks over worker leases: exact results,
//                           leases held and given back, results that
//                           never reach the store, and results promoted
//                           there when they leave (argument, serialized
//                           ref, wait, a get that outlasts its grace)
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

/// Where this worker process sees the object (its arena offset), the
/// bytes that matched, and its pid.
std::vector<int64_t>
view_in_worker(cafray::object_ref<std::vector<uint8_t>> ref) {
  auto v = cafray::get_view(ref);
  int64_t matched = 0;
  for (uint64_t i = 0; i < v.size(); ++i)
    matched += v[i] == pattern(i) ? 1 : 0;
  return {cafray::arena_offset(v.data()), matched,
          static_cast<int64_t>(::getpid())};
}
CAFRAY_REMOTE(view_in_worker);

int64_t view_and_sleep(cafray::object_ref<std::vector<uint8_t>> ref,
                       std::string path) {
  auto v = cafray::get_view(ref);
  {
    std::ofstream out{path, std::ios::app};
    out << ::getpid() << std::endl;
  }
  std::this_thread::sleep_for(std::chrono::seconds{30});
  return static_cast<int64_t>(v.size());
}
CAFRAY_REMOTE(view_and_sleep);

int64_t note_pid_and_sleep(std::string path) {
  {
    std::ofstream out{path, std::ios::app};
    out << ::getpid() << std::endl;
  }
  std::this_thread::sleep_for(std::chrono::seconds{3});
  return ::getpid();
}
CAFRAY_REMOTE(note_pid_and_sleep);

int64_t square(int64_t x) {
  return x * x;
}
CAFRAY_REMOTE(square);

/// Reads refs it got inside a value (they escaped the driver).
int64_t sum_refs(std::vector<cafray::object_ref<int64_t>> refs) {
  int64_t sum = 0;
  for (auto& ref : refs)
    sum += cafray::get(ref);
  return sum;
}
CAFRAY_REMOTE(sum_refs);

int64_t sleep_ms(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return ms;
}
CAFRAY_REMOTE(sleep_ms);

/// Adds up what it is given.
class Accumulator {
public:
  int64_t add(int64_t x) {
    total_ += x;
    return total_;
  }

private:
  int64_t total_ = 0;
};
CAFRAY_ACTOR(Accumulator);
CAFRAY_METHOD(Accumulator, add);

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

int view() {
  std::vector<uint8_t> data(64 << 20);
  for (uint64_t i = 0; i < data.size(); ++i)
    data[i] = pattern(i);
  auto before = cafray::object_store_stats();
  auto ref = cafray::put(data);
  auto mine = cafray::get_view(ref);
  auto offset = cafray::arena_offset(mine.data());
  auto seen = cafray::get(cafray::task(view_in_worker)
                            .resources({{"main", 1}})
                            .remote(ref));
  auto after = cafray::object_store_stats();
  std::cout << "driver offset " << offset << "\n"
            << "worker offset " << seen[0] << "\n"
            << "same place " << (offset >= 0 && seen[0] == offset ? "yes" : "no")
            << "\n"
            << "worker matched " << seen[1] << " of " << data.size() << "\n"
            << "other process " << (seen[2] != ::getpid() ? "yes" : "no")
            << "\n"
            << "arena bytes added " << after.arena_used - before.arena_used
            << "\n"
            << "arena pins " << after.arena_pins << std::endl;
  // The ref went to a task as a ref, so its object stays until shutdown;
  // another one goes when its ref and its view do.
  {
    auto other = cafray::put(data);
    auto v = cafray::get_view(other);
    std::cout << "second in arena "
              << (cafray::arena_offset(v.data()) >= 0 ? "yes" : "no")
              << std::endl;
  }
  bool released = false;
  for (int i = 0; i < 500 && !released; ++i) {
    released = cafray::object_store_stats().arena_used == after.arena_used;
    if (!released)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  std::cout << "released " << (released ? "yes" : "no") << std::endl;
  return 0;
}

int too_large() {
  auto capacity = cafray::object_store_stats().arena_capacity;
  try {
    auto ref = cafray::put(std::vector<uint8_t>(capacity + 1));
    std::cout << "put stored " << ref.id().index << "\n";
  } catch (const cafray::error& e) {
    std::cout << "put error " << cafray::to_string(e.code()) << std::endl;
  }
  std::vector<uint8_t> data(64 << 20, 1);
  auto ref = cafray::put(data);
  // Node 1 offers "small" and has an arena of less than 64 MiB.
  auto n = cafray::task(count_matching).resources({{"small", 1}}).remote(ref);
  try {
    auto matched = cafray::get(n, std::chrono::seconds{30});
    std::cout << "get returned " << matched << std::endl;
  } catch (const cafray::error& e) {
    std::cout << "get error " << cafray::to_string(e.code()) << std::endl;
  }
  return 0;
}

/// Polls the store until its arena pins are `n` (at most 10 s).
bool await_pins(uint64_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (cafray::object_store_stats().arena_pins == n)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

int pin_death(const std::string& path) {
  auto ref = cafray::put(std::vector<uint8_t>(8 << 20, 5));
  auto before = cafray::object_store_stats().arena_pins;
  auto result = cafray::task(view_and_sleep)
                  .resources({{"main", 1}})
                  .max_retries(0)
                  .remote(ref, path);
  std::cout << "pinned by the worker "
            << (await_pins(before + 1) ? "yes" : "no") << std::endl;
  try {
    cafray::get(result, std::chrono::seconds{60});
    std::cout << "task returned" << std::endl;
  } catch (const cafray::error& e) {
    std::cout << "task error " << cafray::to_string(e.code()) << std::endl;
  }
  std::cout << "pin dropped with the worker "
            << (await_pins(before) ? "yes" : "no") << std::endl;
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

int direct() {
  auto& r = cafray::detail::rt();
  auto leases = [&] { return r.direct ? r.direct->leases() : size_t{0}; };
  auto stored = [] { return cafray::object_store_stats().objects; };
  // Synchronous tasks: one lease serves them all.
  int64_t sum = 0;
  for (int64_t i = 0; i < 500; ++i)
    sum += cafray::get(cafray::task(square).remote(i));
  std::cout << "sync sum " << sum << "\n";
  std::cout << "leases while busy " << (leases() >= 1 ? "yes" : "no") << "\n";
  // Their results never reached the store: its count hardly moves.
  auto before = stored();
  {
    std::vector<cafray::object_ref<int64_t>> refs;
    for (int64_t i = 0; i < 2000; ++i)
      refs.push_back(cafray::task(square).remote(i));
    int64_t total = 0;
    for (auto x : cafray::get(refs))
      total += x;
    std::cout << "async sum " << total << "\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  auto after = stored();
  // (A get that waits past its grace promotes what it waits for, so a
  // stall may store a few.)
  auto grew = after > before ? after - before : 0;
  std::cout << "store kept most results " << (grew < 1000 ? "no" : "yes")
            << "\n";
  // Results that leave: a task's argument, refs serialized into a value,
  // and a wait.
  auto a = cafray::task(square).remote(int64_t{3});
  auto b = cafray::task(square).remote(int64_t{4});
  std::cout << "argument " << cafray::get(cafray::task(add).remote(a, b))
            << "\n";
  std::vector<cafray::object_ref<int64_t>> inner;
  for (int64_t i = 1; i <= 10; ++i)
    inner.push_back(cafray::task(square).remote(i));
  std::cout << "serialized " << cafray::get(cafray::task(sum_refs).remote(inner))
            << "\n";
  std::vector<cafray::object_ref<int64_t>> waited{
    cafray::task(square).remote(int64_t{5}),
    cafray::task(sleep_ms).remote(int64_t{400})};
  auto [ready, unready] = cafray::wait(waited, 2, std::chrono::seconds{10});
  std::cout << "wait " << ready.size() << " ready " << unready.size()
            << " not\n";
  // A get that waits past its grace asks the store, which gets the result.
  std::cout << "slow " << cafray::get(cafray::task(sleep_ms).remote(
                            int64_t{300}))
            << "\n";
  // Actor results are the driver's too: the store hardly sees them, until
  // one becomes an argument or a wait asks for a late one.
  auto acc = cafray::actor<Accumulator>().remote();
  before = stored();
  {
    std::vector<cafray::object_ref<int64_t>> calls;
    for (int64_t i = 1; i <= 2000; ++i)
      calls.push_back(acc.call(&Accumulator::add, i));
    std::cout << "actor last " << cafray::get(calls).back() << "\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  after = stored();
  grew = after > before ? after - before : 0;
  std::cout << "store kept most calls " << (grew < 1000 ? "no" : "yes")
            << "\n";
  auto c1 = acc.call(&Accumulator::add, int64_t{0});
  std::cout << "call as argument "
            << cafray::get(cafray::task(add).remote(c1, c1)) << "\n";
  std::vector<cafray::object_ref<int64_t>> late{
    acc.call(&Accumulator::add, int64_t{1})};
  auto w2 = cafray::wait(late, 1, std::chrono::seconds{10});
  std::cout << "wait on call " << w2.ready.size() << "\n";
  // Idle leases go back to their raylets.
  std::this_thread::sleep_for(std::chrono::milliseconds{600});
  std::cout << "leases when idle " << leases() << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "";
  if (what != "tree" && what != "direct" && what != "pinned" && what != "view"
      && what != "too_large" && !(what == "pin_death" && argc == 3)
      && !(what == "crash" && argc == 4)) {
    std::cerr << "usage: cluster_driver tree|direct|pinned|view|too_large|"
                 "pin_death FILE|crash FILE RETRIES\n";
    return 2;
  }
  cafray::init();
  auto rc = what == "tree"        ? tree()
            : what == "direct"    ? direct()
            : what == "pinned"    ? pinned()
            : what == "view"      ? view()
            : what == "too_large" ? too_large()
            : what == "pin_death" ? pin_death(argv[2])
                                  : crash(argv[2], std::atoi(argv[3]));
  cafray::shutdown();
  return rc;
}
