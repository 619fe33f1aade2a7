// The worker and actor_host actors with a real object store and a fake
// raylet, in one process.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "object_store/object_store.hpp"
#include "proto/register_types.hpp"
#include "../common/fake_raylet.hpp"
#include "test_code.hpp"
#include "worker/actor_host.hpp"
#include "worker/worker.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

constexpr auto max_wait = std::chrono::seconds(10);

struct call_result {
  actor_id actor;
  object_id id;
  object_payload payload;
};

struct worker_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  object_store_actor store;
  std::vector<caf::actor> to_stop;

  worker_fixture() {
    register_test_code();
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
    store = spawn_object_store(*sys, node_id{1, 1}, gcs_router{}, 0);
    to_stop.push_back(caf::actor_cast<caf::actor>(store));
  }

  ~worker_fixture() {
    for (auto& a : to_stop)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    // Handles keep actors alive (a detached actor's thread waits for its
    // last handle): drop them before the system waits for its threads.
    store = nullptr;
    to_stop.clear();
    self.reset();
    sys.reset();
  }

  caf::actor me() {
    return caf::actor_cast<caf::actor>(*self);
  }

  template <class Handle>
  Handle track(Handle h) {
    to_stop.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  object_payload get(const object_id& id) {
    object_payload result = failed_payload(errc::runtime_error, {}, "none");
    (*self)
      ->request(store, max_wait, get_atom_v, std::vector<object_id>{id},
                caf::timespan{max_wait})
      .receive(
        [&](std::vector<object_payload>& xs) {
          REQUIRE_EQ(xs.size(), 1u);
          result = std::move(xs[0]);
        },
        [&](caf::error& err) { FAIL(render(err)); });
    return result;
  }

  /// Collects done reports (a worker may batch them) until `n` tasks are
  /// done; returns the worker index of the last report and the tasks in
  /// reported order.
  std::pair<uint32_t, std::vector<task_id>> next_done(size_t n = 1) {
    std::pair<uint32_t, std::vector<task_id>> result;
    while (result.second.size() < n) {
      bool got = false;
      (*self)->receive(
        [&](done_atom, uint32_t worker, std::vector<task_id>& ids) {
          result.first = worker;
          result.second.insert(result.second.end(), ids.begin(), ids.end());
          got = true;
        },
        caf::after(max_wait) >> [] {});
      REQUIRE_MESSAGE(got, "no done message");
    }
    return result;
  }

  void execute(const worker_actor& w, task_spec spec,
               std::vector<object_payload> resolved = {}) {
    caf::anon_send(w, execute_atom_v,
                   std::vector<task_assignment>{
                     task_assignment{std::move(spec), std::move(resolved), {}}});
  }

  call_result next_result() {
    call_result result;
    bool got = false;
    (*self)->receive(
      [&](call_result_atom, actor_id& actor, object_id& id,
          object_payload& payload) {
        result = call_result{actor, id, std::move(payload)};
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no call result");
    return result;
  }

  /// The next answer of a host, batched or single, as a list.
  std::vector<call_result> next_results() {
    std::vector<call_result> result;
    bool got = false;
    (*self)->receive(
      [&](call_result_atom, actor_id& actor, object_id& id,
          object_payload& payload) {
        result.push_back(call_result{actor, id, std::move(payload)});
        got = true;
      },
      [&](call_result_atom, actor_id& actor, std::vector<object_id>& ids,
          std::vector<object_payload>& payloads) {
        REQUIRE_EQ(ids.size(), payloads.size());
        for (size_t i = 0; i < ids.size(); ++i)
          result.push_back(call_result{actor, ids[i], std::move(payloads[i])});
        got = true;
      },
      caf::after(max_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no call result");
    return result;
  }

  actor_host_actor spawn_host(task_spec creation) {
    return track(spawn_actor_host(*sys, std::move(creation), store,
                                  gcs_router{}));
  }

  void call(const actor_host_actor& host, const task_spec& spec) {
    caf::anon_send(host, call_atom_v, spec, me());
  }
};

const actor_id counter_id{9, 9};

task_spec creation(std::string cls, uint64_t signature,
                   std::vector<task_arg> args) {
  task_spec spec;
  spec.id = task_id{9, 0};
  spec.kind = static_cast<uint8_t>(task_kind::actor_create);
  spec.function = std::move(cls);
  spec.signature = signature;
  spec.args = std::move(args);
  spec.actor = counter_id;
  return spec;
}

task_spec method_call(uint64_t n, std::string function, uint64_t signature,
                      std::vector<task_arg> args) {
  task_spec spec;
  spec.id = task_id{9, n};
  spec.kind = static_cast<uint8_t>(task_kind::actor_call);
  spec.function = std::move(function);
  spec.signature = signature;
  spec.args = std::move(args);
  spec.actor = counter_id;
  spec.seq = n;
  return spec;
}

task_spec add_call(uint64_t n, task_arg arg) {
  return method_call(n, "test.Counter::add", counter_add_signature, {arg});
}

} // namespace

TEST_CASE_FIXTURE(worker_fixture, "a worker puts the result into the store "
                                  "and reports done to its raylet") {
  auto raylet = track(sys->spawn(fake_raylet, me(), std::string{}));
  auto w = track(spawn_worker(*sys, 3, raylet, store, gcs_router{}));
  task_spec spec;
  spec.id = task_id{2, 1};
  spec.function = "test.add";
  spec.signature = add_signature;
  spec.args = {value_arg(encode(20)), ref_arg(object_id{task_id{2, 0}, 1})};
  execute(w, spec, {object_payload{}, int_payload(22)});
  auto [worker, ids] = next_done();
  CHECK_EQ(worker, 3u);
  CHECK(ids == std::vector<task_id>{task_id{2, 1}});
  auto result = get(spec.return_id());
  REQUIRE_FALSE(result.failed());
  CHECK_EQ(decode<int>(result.data), 42);
}

TEST_CASE_FIXTURE(worker_fixture, "a failing task stores its error as the "
                                  "result") {
  auto raylet = track(sys->spawn(fake_raylet, me(), std::string{}));
  auto w = track(spawn_worker(*sys, 0, raylet, store, gcs_router{}));
  task_spec spec;
  spec.id = task_id{2, 2};
  spec.function = "test.throw";
  spec.signature = throw_signature;
  spec.args = {value_arg(encode(0))};
  execute(w, spec);
  CHECK(next_done().second == std::vector<task_id>{task_id{2, 2}});
  auto result = get(spec.return_id());
  CHECK_EQ(result.error_code, static_cast<uint8_t>(errc::task_failed));
  CHECK_EQ(result.error.type_name, "std::invalid_argument");
  CHECK_EQ(result.error.message, "bad input");
  CHECK(result.error.task == (task_id{2, 2}));
}

TEST_CASE_FIXTURE(worker_fixture, "a worker runs its tasks one after the "
                                  "other") {
  auto raylet = track(sys->spawn(fake_raylet, me(), std::string{}));
  auto w = track(spawn_worker(*sys, 1, raylet, store, gcs_router{}));
  // One batch of three and one single task.
  std::vector<task_assignment> batch;
  for (uint64_t n = 1; n <= 4; ++n) {
    task_spec spec;
    spec.id = task_id{2, 10 + n};
    spec.function = "test.add";
    spec.signature = add_signature;
    spec.args = {value_arg(encode(static_cast<int>(n))),
                 value_arg(encode(100))};
    if (n < 4)
      batch.push_back(task_assignment{spec, {}, {}});
    else
      execute(w, spec);
    if (n == 3)
      caf::anon_send(w, execute_atom_v, std::move(batch));
  }
  auto [worker, ids] = next_done(4);
  CHECK_EQ(worker, 1u);
  CHECK(ids
        == std::vector<task_id>{task_id{2, 11}, task_id{2, 12},
                                task_id{2, 13}, task_id{2, 14}});
  for (uint64_t n = 1; n <= 4; ++n)
    CHECK_EQ(decode<int>(get(object_id{task_id{2, 10 + n}, 1}).data),
             100 + static_cast<int>(n));
}

TEST_CASE_FIXTURE(worker_fixture, "a steal takes the newest queued tasks "
                                  "back; the rest run") {
  auto raylet = track(sys->spawn(fake_raylet, me(), std::string{}));
  auto w = track(spawn_worker(*sys, 3, raylet, store, gcs_router{}));
  std::vector<task_assignment> batch;
  task_spec gate_task;
  gate_task.id = task_id{4, 1};
  gate_task.function = "test.gate";
  batch.push_back(task_assignment{gate_task, {}, {}});
  for (uint64_t n = 2; n <= 5; ++n) {
    task_spec spec;
    spec.id = task_id{4, n};
    spec.function = "test.add";
    spec.signature = add_signature;
    spec.args = {value_arg(encode(static_cast<int>(n))),
                 value_arg(encode(1))};
    batch.push_back(task_assignment{spec, {}, {}});
  }
  caf::anon_send(w, execute_atom_v, std::move(batch));
  gate::instance().await_entered(1);
  caf::anon_send(w, steal_atom_v, uint32_t{3});
  std::vector<task_id> stolen;
  bool got = false;
  (*self)->receive(
    [&](handback_atom, uint32_t worker, std::vector<task_spec>& xs) {
      CHECK_EQ(worker, 3u);
      for (auto& x : xs)
        stolen.push_back(x.id);
      got = true;
    },
    caf::after(max_wait) >> [] {});
  REQUIRE(got);
  CHECK(stolen
        == std::vector<task_id>{task_id{4, 3}, task_id{4, 4}, task_id{4, 5}});
  gate::instance().release();
  auto [worker, ids] = next_done(2);
  CHECK_EQ(worker, 3u);
  CHECK(ids == std::vector<task_id>{task_id{4, 1}, task_id{4, 2}});
  CHECK_EQ(decode<int>(get(object_id{task_id{4, 2}, 1}).data), 3);
  // Nothing is left: a second steal is answered empty.
  caf::anon_send(w, steal_atom_v, uint32_t{3});
  got = false;
  (*self)->receive(
    [&](handback_atom, uint32_t, std::vector<task_spec>& xs) {
      CHECK(xs.empty());
      got = true;
    },
    caf::after(max_wait) >> [] {});
  CHECK(got);
}

TEST_CASE_FIXTURE(worker_fixture, "actor_host runs the constructor and then "
                                  "the calls in order") {
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(10))}));
  call(host, add_call(1, value_arg(encode(1))));
  call(host, add_call(2, value_arg(encode(2))));
  call(host, method_call(3, "test.Counter::get", counter_get_signature, {}));
  std::vector<int> values;
  for (uint64_t n = 1; n <= 3; ++n) {
    auto r = next_result();
    CHECK(r.actor == counter_id);
    CHECK(r.id == (object_id{task_id{9, n}, 1}));
    REQUIRE_FALSE(r.payload.failed());
    values.push_back(decode<int>(r.payload.data));
  }
  CHECK(values == std::vector<int>{11, 13, 13});
}

TEST_CASE_FIXTURE(worker_fixture, "a batch of calls runs in order and is "
                                  "answered with one message") {
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(10))}));
  // Each method once alone first: a batch sends what it gathered before a
  // method it has never run (which might run long).
  call(host, add_call(1, value_arg(encode(0))));
  call(host, method_call(2, "test.Counter::nope", 1, {}));
  call(host, method_call(3, "test.Counter::get", counter_get_signature, {}));
  for (int i = 0; i < 3; ++i)
    next_result();
  caf::anon_send(host, call_atom_v,
                 std::vector<task_spec>{
                   add_call(4, value_arg(encode(1))),
                   method_call(5, "test.Counter::nope", 1, {}),
                   add_call(6, value_arg(encode(2))),
                   method_call(7, "test.Counter::get", counter_get_signature,
                               {})},
                 me());
  auto batch = next_results();
  REQUIRE_EQ(batch.size(), 4u);
  for (uint64_t n = 4; n <= 7; ++n)
    CHECK(batch[n - 4].id == (object_id{task_id{9, n}, 1}));
  CHECK_EQ(decode<int>(batch[0].payload.data), 11);
  CHECK_EQ(batch[1].payload.error_code,
           static_cast<uint8_t>(errc::unknown_function));
  CHECK_EQ(decode<int>(batch[2].payload.data), 13);
  CHECK_EQ(decode<int>(batch[3].payload.data), 13);
  // A single call after the batch is answered alone.
  call(host, method_call(8, "test.Counter::get", counter_get_signature, {}));
  auto r = next_result();
  CHECK(r.id == (object_id{task_id{9, 8}, 1}));
  CHECK_EQ(decode<int>(r.payload.data), 13);
}

TEST_CASE_FIXTURE(worker_fixture, "a batch sends its results before a call "
                                  "that may run long") {
  auto& pauses = gate::pauses();
  pauses.close();
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(10))}));
  auto pause = [](uint64_t n, int how) {
    return method_call(n, "test.Counter::pause", counter_pause_signature,
                       {value_arg(encode(how))});
  };
  // pause never ran here: add's result goes out before it starts, so the
  // caller has it while pause waits at the gate.
  caf::anon_send(host, call_atom_v,
                 std::vector<task_spec>{add_call(1, value_arg(encode(1))),
                                        pause(2, 1),
                                        add_call(3, value_arg(encode(2)))},
                 me());
  auto first = next_results();
  REQUIRE_EQ(first.size(), 1u);
  CHECK(first[0].id == (object_id{task_id{9, 1}, 1}));
  CHECK_EQ(decode<int>(first[0].payload.data), 11);
  // The pause runs for more than the batch's patience (200 us).
  std::this_thread::sleep_for(std::chrono::milliseconds{5});
  pauses.release();
  std::vector<call_result> rest;
  while (rest.size() < 2)
    for (auto& x : next_results())
      rest.push_back(std::move(x));
  REQUIRE_EQ(rest.size(), 2u);
  CHECK_EQ(decode<int>(rest[0].payload.data), 11);
  CHECK_EQ(decode<int>(rest[1].payload.data), 13);
  // pause is known to run long now: the next batch again sends add's
  // result before the pause starts.
  pauses.close();
  caf::anon_send(host, call_atom_v,
                 std::vector<task_spec>{add_call(4, value_arg(encode(1))),
                                        pause(5, 1)},
                 me());
  first = next_results();
  REQUIRE_EQ(first.size(), 1u);
  CHECK(first[0].id == (object_id{task_id{9, 4}, 1}));
  CHECK_EQ(decode<int>(first[0].payload.data), 14);
  pauses.release();
  auto last = next_results();
  REQUIRE_EQ(last.size(), 1u);
  CHECK(last[0].id == (object_id{task_id{9, 5}, 1}));
}

TEST_CASE_FIXTURE(worker_fixture, "a failing method call fails alone; the "
                                  "actor lives on") {
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(0))}));
  call(host, method_call(1, "test.Counter::nope", 1, {}));
  call(host, add_call(2, value_arg(encode(5))));
  auto r1 = next_result();
  CHECK_EQ(r1.payload.error_code, static_cast<uint8_t>(errc::unknown_function));
  CHECK_EQ(r1.payload.error.message,
           "class 'test.Counter' has no method 'nope'");
  auto r2 = next_result();
  REQUIRE_FALSE(r2.payload.failed());
  CHECK_EQ(decode<int>(r2.payload.data), 5);
}

TEST_CASE_FIXTURE(worker_fixture, "a call with an unready ref waits and holds "
                                  "back the calls after it") {
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(10))}));
  auto dep = object_id{task_id{7, 7}, 1};
  call(host, add_call(1, ref_arg(dep)));
  call(host, add_call(2, value_arg(encode(5))));
  // Had call 2 run first, it would answer 15 before call 1 answered.
  caf::anon_send(store, put_atom_v, dep, int_payload(100));
  auto r1 = next_result();
  CHECK(r1.id == (object_id{task_id{9, 1}, 1}));
  REQUIRE_FALSE(r1.payload.failed());
  CHECK_EQ(decode<int>(r1.payload.data), 110);
  auto r2 = next_result();
  CHECK(r2.id == (object_id{task_id{9, 2}, 1}));
  CHECK_EQ(decode<int>(r2.payload.data), 115);
}

TEST_CASE_FIXTURE(worker_fixture, "a constructor with an unready ref holds "
                                  "back every call") {
  auto dep = object_id{task_id{7, 8}, 1};
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {ref_arg(dep)}));
  call(host, add_call(1, value_arg(encode(1))));
  caf::anon_send(store, put_atom_v, dep, int_payload(1000));
  auto r = next_result();
  REQUIRE_FALSE(r.payload.failed());
  CHECK_EQ(decode<int>(r.payload.data), 1001);
}

TEST_CASE_FIXTURE(worker_fixture, "a failed ref argument fails that call with "
                                  "the original error") {
  auto host = spawn_host(creation("test.Counter", counter_ctor_signature,
                                  {value_arg(encode(1))}));
  auto dep = object_id{task_id{7, 9}, 1};
  caf::anon_send(store, put_atom_v, dep,
                 failed_payload(errc::object_lost, task_id{7, 9}, "gone"));
  call(host, add_call(1, ref_arg(dep)));
  call(host, method_call(2, "test.Counter::get", counter_get_signature, {}));
  auto r1 = next_result();
  CHECK_EQ(r1.payload.error_code, static_cast<uint8_t>(errc::object_lost));
  CHECK_EQ(r1.payload.error.message, "gone");
  CHECK(r1.payload.error.task == (task_id{7, 9}));
  auto r2 = next_result();
  CHECK_EQ(decode<int>(r2.payload.data), 1);
}

TEST_CASE_FIXTURE(worker_fixture, "a constructor failure makes every call "
                                  "fail") {
  auto host = spawn_host(creation("test.Broken", 0, {}));
  call(host, method_call(1, "test.Broken::get", 0, {}));
  call(host, method_call(2, "test.Broken::get", 0, {}));
  for (uint64_t n = 1; n <= 2; ++n) {
    auto r = next_result();
    CHECK(r.id == (object_id{task_id{9, n}, 1}));
    CHECK_EQ(r.payload.error_code, static_cast<uint8_t>(errc::task_failed));
    CHECK_EQ(r.payload.error.type_name, "std::runtime_error");
    CHECK_EQ(r.payload.error.message, "ctor boom");
    CHECK(r.payload.error.task == (task_id{9, n}));
  }
}

TEST_CASE_FIXTURE(worker_fixture, "an unknown class makes every call fail "
                                  "with unknown_actor_class") {
  auto host = spawn_host(creation("test.Missing", 0, {}));
  call(host, method_call(1, "test.Missing::get", 0, {}));
  auto r = next_result();
  CHECK_EQ(r.payload.error_code,
           static_cast<uint8_t>(errc::unknown_actor_class));
  CHECK_EQ(r.payload.error.message, "no actor class named 'test.Missing'");
}

TEST_CASE_FIXTURE(worker_fixture, "spawn_registered_behavior checks name, "
                                  "signature and arguments") {
  auto& reg = registry::instance();
  reg.add_behavior(behavior_entry{
    "test.echo", 11, "int",
    [](caf::actor_system& sys, const arg_blobs& args) -> caf::actor {
      auto n = decode<int>(args.at(0));
      return sys.spawn([n]() -> caf::behavior {
        return {[n](int x) { return x + n; }};
      });
    }});
  task_spec spec;
  spec.function = "test.echo";
  spec.signature = 11;
  spec.args = {value_arg(encode(5))};
  auto ok = spawn_registered_behavior(*sys, spec);
  REQUIRE(ok);
  track(*ok);
  int answer = 0;
  (*self)->request(*ok, max_wait, 37).receive(
    [&](int x) { answer = x; }, [&](caf::error& err) { FAIL(render(err)); });
  CHECK_EQ(answer, 42);
  auto unknown = spec;
  unknown.function = "test.noecho";
  auto r1 = spawn_registered_behavior(*sys, unknown);
  REQUIRE_FALSE(r1);
  CHECK_EQ(code_of(r1.error()), errc::unknown_actor_class);
  auto mismatch = spec;
  mismatch.signature = 12;
  auto r2 = spawn_registered_behavior(*sys, mismatch);
  REQUIRE_FALSE(r2);
  CHECK_EQ(code_of(r2.error()), errc::signature_mismatch);
  auto by_ref = spec;
  by_ref.args = {ref_arg(object_id{task_id{1, 1}, 1})};
  auto r3 = spawn_registered_behavior(*sys, by_ref);
  REQUIRE_FALSE(r3);
  CHECK_EQ(code_of(r3.error()), errc::bad_argument);
  auto garbage = spec;
  garbage.args = {value_arg(encode(std::string{"x"}))};
  auto r4 = spawn_registered_behavior(*sys, garbage);
  REQUIRE_FALSE(r4);
  CHECK_EQ(code_of(r4.error()), errc::bad_argument);
}
