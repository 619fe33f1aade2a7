// One message per handler of every proto/ interface (requests and replies)
// survives CAF's binary serializer: whatever a handler accepts can cross a
// process boundary. Actor handles inside messages included.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/scoped_actor.hpp>

#include "common/error.hpp"
#include "proto/register_types.hpp"

using namespace cafray;

namespace {

struct message_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;

  message_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
  }

  ~message_fixture() {
    self.reset();
    sys.reset();
  }

  caf::actor handle() {
    return caf::actor_cast<caf::actor>(*self);
  }

  template <class Handle>
  Handle typed() {
    return caf::actor_cast<Handle>(*self);
  }

  /// Serializes `msg`, reads it back and checks that the copy has the same
  /// element types and serializes to the same bytes.
  void check(const caf::message& msg) {
    CAPTURE(caf::to_string(msg));
    std::vector<char> buf;
    {
      caf::binary_serializer sink{*sys, buf};
      auto err = sink(const_cast<caf::message&>(msg));
      REQUIRE_MESSAGE(!err, sys->render(err));
    }
    caf::message copy;
    caf::binary_deserializer source{*sys, buf};
    auto err = source(copy);
    REQUIRE_MESSAGE(!err, sys->render(err));
    CHECK_EQ(source.remaining(), 0u);
    REQUIRE_EQ(copy.size(), msg.size());
    CHECK_EQ(copy.type_token(), msg.type_token());
    std::vector<char> again;
    caf::binary_serializer sink{*sys, again};
    REQUIRE(!sink(copy));
    CHECK(again == buf);
    CHECK_EQ(caf::to_string(copy), caf::to_string(msg));
  }
};

blob make_blob(std::string bytes) {
  return blob{blob::buffer(bytes.begin(), bytes.end())};
}

object_payload payload(std::string bytes) {
  object_payload result;
  result.data = make_blob(std::move(bytes));
  return result;
}

task_spec spec() {
  task_spec x;
  x.id = task_id{1, 2};
  x.function = "f";
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::resolved);
  arg.ref = object_id{task_id{3, 4}, 1};
  x.args = {arg};
  x.resources = {{"CPU", 1000}};
  return x;
}

const object_id obj{task_id{5, 6}, 1};
const std::vector<object_id> objs{object_id{task_id{5, 6}, 1},
                                  object_id{task_id{7, 8}, 2}};
const caf::timespan span = std::chrono::milliseconds(1500);

} // namespace

TEST_CASE_FIXTURE(message_fixture, "gcs_actor messages") {
  auto table = static_cast<uint8_t>(gcs_table::kv);
  check(caf::make_message(put_atom_v, table, std::string{"k"},
                          std::string{"v"}));
  check(caf::make_message(put_atom_v, table,
                          std::vector<kv_entry>{{"a", "1"}, {"b", "2"}}));
  check(caf::make_message(get_atom_v, table, std::string{"k"}));
  check(caf::make_message(scan_atom_v, table, std::string{"prefix"}));
  check(caf::make_message(delete_atom_v, table, std::string{"k"}));
  check(caf::make_message(subscribe_atom_v, table, std::string{"k"},
                          handle()));
  check(caf::make_message(notify_atom_v, table, std::string{"k"},
                          std::string{"v"}));
  check(caf::make_message(flush_atom_v));
  // Replies.
  check(caf::make_message(ok_atom_v));
  check(caf::make_message(std::string{"value"}));
  check(caf::make_message(std::vector<kv_entry>{{"a", "1"}}));
  check(caf::make_message(make_error(errc::not_found, std::string{"k"})));
}

TEST_CASE_FIXTURE(message_fixture, "object_store_actor and listener "
                                   "messages") {
  check(caf::make_message(put_atom_v, obj, payload("x")));
  check(caf::make_message(put_atom_v, objs,
                          std::vector<object_payload>{payload("a"),
                                                      payload("b")}));
  check(caf::make_message(get_atom_v, objs, span));
  check(caf::make_message(wait_atom_v, objs, uint64_t{1}, span));
  check(caf::make_message(subscribe_atom_v, obj,
                          typed<object_listener_actor>()));
  check(caf::make_message(release_atom_v, objs));
  check(caf::make_message(timeout_atom_v, uint64_t{3}));
  check(caf::make_message(stats_atom_v));
  check(caf::make_message(ready_atom_v, obj, payload("y")));
  // Replies.
  check(caf::make_message(
    std::vector<object_payload>{payload("a"), object_payload{}}));
  check(caf::make_message(std::vector<uint8_t>{1, 0}));
  check(caf::make_message(store_stats{1, 2, 3}));
  // The node's arena.
  check(caf::make_message(attach_atom_v, caf::actor{}));
  check(caf::make_message(get_atom_v, uint64_t{1}, std::vector<object_id>{obj},
                          caf::timespan{5}));
  check(caf::make_message(allocate_atom_v, uint64_t{1}, obj, uint64_t{1} << 30));
  check(caf::make_message(seal_atom_v, uint64_t{1}, obj, uint64_t{64},
                          uint64_t{1} << 30));
  check(caf::make_message(unpin_atom_v, uint64_t{1},
                          std::vector<object_id>{obj}));
  check(caf::make_message(arena_info{"/proc/1/fd/3", 4096, 1}));
  check(caf::make_message(arena_objects{{object_payload{}}, {0}, {7}}));
}

TEST_CASE_FIXTURE(message_fixture, "raylet, worker and actor host "
                                   "messages") {
  check(caf::make_message(submit_atom_v, spec()));
  check(caf::make_message(place_atom_v, spec()));
  check(caf::make_message(place_atom_v, std::vector<task_spec>{spec(), spec()},
                          handle()));
  check(caf::make_message(place_atom_v, std::vector<task_spec>{spec()},
                          caf::actor{}));
  check(caf::make_message(ready_atom_v, obj, payload("z")));
  check(caf::make_message(done_atom_v, uint32_t{2},
                          std::vector<task_id>{task_id{1, 2}, task_id{3, 4}}));
  check(caf::make_message(blocked_atom_v, uint32_t{2}));
  check(caf::make_message(unblocked_atom_v, uint32_t{2}));
  check(caf::make_message(handback_atom_v, uint32_t{2},
                          std::vector<task_spec>{spec(), spec()}));
  check(caf::make_message(create_actor_atom_v, spec()));
  check(caf::make_message(spawn_behavior_atom_v, spec()));
  check(caf::make_message(lookup_atom_v, actor_id{1, 1}));
  check(caf::make_message(place_actor_atom_v, spec()));
  check(caf::make_message(attach_atom_v, actor_id{1, 1}, int32_t{77}));
  check(caf::make_message(register_atom_v, actor_id{1, 1}, caf::actor{},
                          uint16_t{40000}));
  check(caf::make_message(timeout_atom_v, actor_id{1, 1}));
  check(caf::make_message(actor_location{caf::actor{}, node_id{1, 2},
                                         "127.0.0.1:40000", 77}));
  check(caf::make_message(stats_atom_v));
  check(caf::make_message(tick_atom_v));
  check(caf::make_message(handle()));
  check(caf::make_message(load_report{}));
  check(caf::make_message(
    execute_atom_v,
    std::vector<task_assignment>{task_assignment{spec(), {payload("arg")}, {}},
                                 task_assignment{spec(), {}, {}}}));
  check(caf::make_message(call_atom_v, spec(), handle()));
  check(caf::make_message(call_atom_v, std::vector<task_spec>{spec(), spec()},
                          handle()));
}

TEST_CASE_FIXTURE(message_fixture, "core worker messages") {
  check(caf::make_message(call_atom_v, handle(), spec()));
  check(caf::make_message(call_result_atom_v, actor_id{1, 1}, obj,
                          payload("r")));
  check(caf::make_message(call_atom_v, actor_id{1, 2}));
  check(caf::make_message(call_result_atom_v, actor_id{1, 1}, objs,
                          std::vector<object_payload>{payload("r"),
                                                      payload("s")}));
  check(caf::make_message(get_atom_v, objs, span, uint64_t{4}));
  check(caf::make_message(wait_atom_v, objs, uint64_t{1}, span,
                          uint64_t{4}));
}

TEST_CASE_FIXTURE(message_fixture, "scheduler messages") {
  check(caf::make_message(register_atom_v, node_id{1, 1},
                          typed<raylet_actor>(),
                          resource_map{{"CPU", 1000}}));
  load_report rep;
  rep.node = node_id{1, 1};
  rep.total = {{"CPU", 1000}};
  check(caf::make_message(heartbeat_atom_v, rep));
  check(caf::make_message(spill_atom_v, spec()));
  check(caf::make_message(spill_atom_v, std::vector<task_spec>{spec(), spec()},
                          handle()));
  check(caf::make_message(spill_atom_v, std::vector<task_spec>{},
                          caf::actor{}));
  check(caf::make_message(uint64_t{7}));
}

TEST_CASE_FIXTURE(message_fixture, "an actor handle comes back as the same "
                                   "actor") {
  auto msg = caf::make_message(typed<raylet_actor>());
  std::vector<char> buf;
  caf::binary_serializer sink{*sys, buf};
  REQUIRE(!sink(msg));
  caf::message copy;
  caf::binary_deserializer source{*sys, buf};
  REQUIRE(!source(copy));
  REQUIRE(copy.match_elements<raylet_actor>());
  CHECK(caf::actor_cast<caf::actor>(copy.get_as<raylet_actor>(0))
        == handle());
}
