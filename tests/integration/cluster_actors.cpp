// Actors of a cluster (cluster.sh): each runs in a worker process of its
// own, on a node that has its resources. Built both as a program and, from
// the same source, as the code library the nodes load.
//   cluster_actors special   an actor that holds {special: 1} (only node 2
//                            has it): prints its pid and its parent's, that
//                            a task needing {special: 1} waits while it
//                            lives and runs once it is killed, that its
//                            process is gone, and a second such actor
//   cluster_actors crash FILE
//                            an actor appends its pid to FILE and sleeps
//                            (cluster.sh kills that process): prints how
//                            the call in flight, a queued call and a later
//                            call fail, when, and the actor's GCS state
//   cluster_actors typed FILE
//                            the same for a typed behavior: prints its pid
//                            and parent, and how the request in flight
//                            fails when cluster.sh kills its process
//   cluster_actors named_create / named_use
//                            one driver creates the actor "keeper" on
//                            node 2; a second one finds it by name, calls
//                            it and kills it
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include "api/detail/runtime_state.hpp"
#include "cafray/cafray.hpp"
#include "proto/record_codec.hpp"

class Probe {
public:
  explicit Probe(int64_t start) : value_(start) {
  }

  int64_t pid() const {
    return ::getpid();
  }

  int64_t add(int64_t x) {
    value_ += x;
    return value_;
  }

  int64_t note_and_sleep(std::string path, int64_t ms) {
    {
      std::ofstream out{path, std::ios::app};
      out << ::getpid() << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    return value_;
  }

private:
  int64_t value_;
};
CAFRAY_ACTOR(Probe, int64_t);
CAFRAY_METHOD(Probe, pid);
CAFRAY_METHOD(Probe, add);
CAFRAY_METHOD(Probe, note_and_sleep);

using pid_service
  = caf::typed_actor<caf::replies_to<std::string, int64_t>::with<int64_t>>;

/// Appends its pid to the file a request names (if any), sleeps the
/// milliseconds it asks for and replies with its pid.
pid_service::behavior_type pid_server(pid_service::pointer) {
  return {
    [](const std::string& path, int64_t ms) -> int64_t {
      if (!path.empty()) {
        std::ofstream out{path, std::ios::app};
        out << ::getpid() << std::endl;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      return ::getpid();
    },
  };
}
CAFRAY_BEHAVIOR(pid_server);

int64_t special_task() {
  return ::getpid();
}
CAFRAY_REMOTE(special_task);

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int64_t ms_since(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start)
    .count();
}

int64_t epoch_ms() {
  return std::chrono::duration_cast<milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The parent of process `pid` (from /proc), or -1.
int64_t parent_of(int64_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("PPid:", 0) == 0)
      return std::stoll(line.substr(5));
  return -1;
}

/// Waits up to 5 s for process `pid` to be gone (reaped).
bool gone(int64_t pid) {
  struct stat info;
  auto path = "/proc/" + std::to_string(pid);
  for (int i = 0; i < 500; ++i) {
    if (::stat(path.c_str(), &info) != 0)
      return true;
    std::this_thread::sleep_for(milliseconds{10});
  }
  return false;
}

std::string error_of(const cafray::object_ref<int64_t>& ref) {
  try {
    auto value = cafray::get(ref, std::chrono::seconds{30});
    return "value " + std::to_string(value);
  } catch (const cafray::error& e) {
    return cafray::to_string(e.code());
  }
}

/// The actor's state in the GCS actors table ("alive", "dead", ...), once
/// it is `want` (at most 5 s), or the last state read.
std::string gcs_state(const cafray::actor_id& id, const std::string& want) {
  auto& r = cafray::detail::rt();
  auto key = cafray::to_key(cafray::task_id{id.hi, id.lo});
  std::string state = "none";
  for (int i = 0; i < 100 && state != want; ++i) {
    caf::scoped_actor self{*r.sys};
    self
      ->request(r.gcs.shard_for(key), std::chrono::seconds{10},
                cafray::get_atom_v,
                static_cast<uint8_t>(cafray::gcs_table::actors), key)
      .receive(
        [&](std::string& value) {
          if (auto rec = cafray::decode_record<cafray::actor_record>(value))
            state = rec->state
                        == static_cast<uint8_t>(cafray::actor_state::dead)
                      ? "dead"
                      : "alive";
        },
        [&](caf::error&) {});
    if (state != want)
      std::this_thread::sleep_for(milliseconds{50});
  }
  return state;
}

int special() {
  auto start = steady_clock::now();
  auto a = cafray::actor<Probe>(int64_t{0})
             .resources({{"special", 1}})
             .remote();
  auto created = ms_since(start);
  auto pid = cafray::get(a.call(&Probe::pid));
  std::cout << "created in " << created << " ms, first call back after "
            << ms_since(start) << " ms" << std::endl;
  std::cout << "actor pid " << pid << "\n"
            << "actor parent " << parent_of(pid) << "\n"
            << "driver pid " << ::getpid() << "\n"
            << "gcs " << gcs_state(a.id(), "alive") << std::endl;
  // The actor holds node 2's only unit of "special".
  auto t = cafray::task(special_task).resources({{"special", 1}}).remote();
  bool waited = false;
  try {
    cafray::get(t, milliseconds{1500});
  } catch (const cafray::error& e) {
    waited = e.code() == cafray::errc::timeout;
  }
  std::cout << "task waits while the actor lives "
            << (waited ? "yes" : "no") << std::endl;
  auto killed = steady_clock::now();
  cafray::kill(a);
  std::cout << "process gone after kill " << (gone(pid) ? "yes" : "no")
            << " (" << ms_since(killed) << " ms)" << std::endl;
  auto task_pid = cafray::get(t, std::chrono::seconds{10});
  std::cout << "task ran after the kill, parent " << parent_of(task_pid)
            << "\n"
            << "call after kill " << error_of(a.call(&Probe::add, int64_t{1}))
            << "\n"
            << "gcs " << gcs_state(a.id(), "dead") << std::endl;
  auto b = cafray::actor<Probe>(int64_t{5})
             .resources({{"special", 1}})
             .remote();
  auto b_pid = cafray::get(b.call(&Probe::pid));
  std::cout << "second actor " << cafray::get(b.call(&Probe::add, int64_t{1}))
            << " in a new process "
            << (b_pid != pid && b_pid != task_pid ? "yes" : "no")
            << ", parent " << parent_of(b_pid) << std::endl;
  cafray::kill(b);
  gone(b_pid);
  return 0;
}

int crash(const std::string& path) {
  auto a = cafray::actor<Probe>(int64_t{7}).remote();
  auto in_flight = a.call(&Probe::note_and_sleep, path, int64_t{20000});
  auto queued = a.call(&Probe::add, int64_t{1});
  auto first = error_of(in_flight);
  auto failed_at = epoch_ms();
  std::cout << "in flight " << first << " at " << failed_at << "\n"
            << "queued " << error_of(queued) << "\n"
            << "later " << error_of(a.call(&Probe::add, int64_t{1})) << "\n"
            << "gcs " << gcs_state(a.id(), "dead") << std::endl;
  return 0;
}

int typed(const std::string& path) {
  auto t = cafray::spawn(pid_server);
  auto pid = cafray::get(t.call<int64_t>(std::string{}, int64_t{0}));
  std::cout << "typed pid " << pid << " parent " << parent_of(pid)
            << std::endl;
  auto in_flight = t.call<int64_t>(path, int64_t{20000});
  auto first = error_of(in_flight);
  std::cout << "typed in flight " << first << " at " << epoch_ms()
            << std::endl;
  return 0;
}

int named_create() {
  auto a = cafray::actor<Probe>(int64_t{40})
             .name("keeper")
             .resources({{"special", 1}})
             .remote();
  auto pid = cafray::get(a.call(&Probe::pid));
  std::cout << "keeper " << cafray::get(a.call(&Probe::add, int64_t{2}))
            << " parent " << parent_of(pid) << std::endl;
  return 0;
}

int named_use() {
  auto a = cafray::get_actor<Probe>("keeper");
  if (!a) {
    std::cout << "keeper not found" << std::endl;
    return 1;
  }
  auto pid = cafray::get(a->call(&Probe::pid));
  std::cout << "found keeper " << cafray::get(a->call(&Probe::add, int64_t{1}))
            << std::endl;
  cafray::kill(*a);
  std::cout << "keeper gone " << (gone(pid) ? "yes" : "no") << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "";
  if (what != "special" && what != "named_create" && what != "named_use"
      && !((what == "crash" || what == "typed") && argc == 3)) {
    std::cerr << "usage: cluster_actors special|crash FILE|typed FILE|"
                 "named_create|named_use\n";
    return 2;
  }
  cafray::init();
  auto rc = what == "special"        ? special()
            : what == "named_create" ? named_create()
            : what == "named_use"    ? named_use()
            : what == "typed"        ? typed(argv[2])
                                     : crash(argv[2]);
  cafray::shutdown();
  return rc;
}
