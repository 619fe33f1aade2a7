// The registry and the executor without actors.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_code.hpp"
#include "worker/executor.hpp"

using namespace cafray;
using namespace cafray::test;

namespace {

task_spec call(std::string function, uint64_t signature,
               std::vector<task_arg> args) {
  task_spec spec;
  spec.id = task_id{3, 1};
  spec.function = std::move(function);
  spec.signature = signature;
  spec.args = std::move(args);
  return spec;
}

void check_error(const object_payload& p, errc code, const task_spec& spec,
                 const std::string& message,
                 const std::string& type_name = "") {
  CHECK(p.failed());
  CHECK_EQ(p.error_code, static_cast<uint8_t>(code));
  CHECK_EQ(p.error.code, static_cast<uint8_t>(code));
  CHECK(p.error.task == spec.id);
  CHECK_EQ(p.error.function, spec.function);
  CHECK_EQ(p.error.message, message);
  CHECK_EQ(p.error.type_name, type_name);
  CHECK_GT(p.error.time_ns, 0);
  CHECK(p.data.empty());
}

} // namespace

TEST_CASE("registry: functions, classes and methods by name") {
  register_test_code();
  auto& reg = registry::instance();
  auto add = reg.find_function("test.add");
  REQUIRE(add != nullptr);
  CHECK_EQ(add->name, "test.add");
  CHECK_EQ(add->signature, add_signature);
  CHECK_EQ(add->signature_text, "int, int");
  CHECK(reg.find_function("test.nope") == nullptr);
  CHECK(reg.find_function("") == nullptr);
  auto counter = reg.find_class("test.Counter");
  REQUIRE(counter != nullptr);
  CHECK_EQ(counter->name, "test.Counter");
  CHECK_EQ(counter->ctor_signature, counter_ctor_signature);
  // The method registered before its class was kept.
  REQUIRE_EQ(counter->methods.size(), 3u);
  REQUIRE(counter->find_method("add") != nullptr);
  CHECK_EQ(counter->find_method("add")->signature, counter_add_signature);
  REQUIRE(counter->find_method("get") != nullptr);
  CHECK(counter->find_method("nope") == nullptr);
  CHECK(counter->find_method_by_pointer("get-ptr")
        == counter->find_method("get"));
  CHECK(counter->find_method_by_pointer("other") == nullptr);
  CHECK(reg.find_class("test.Nope") == nullptr);
  bool listed = false;
  for (auto f : reg.functions())
    listed = listed || f == add;
  CHECK(listed);
}

TEST_CASE("registry: a class with methods but no constructor is not found") {
  auto& reg = registry::instance();
  reg.add_method("test.OnlyMethods",
                 method_entry{"m", 1, "", [](void*, const arg_blobs&) {
                                return blob{};
                              }, ""});
  CHECK(reg.find_class("test.OnlyMethods") == nullptr);
}

TEST_CASE("registry: behaviors by name") {
  auto& reg = registry::instance();
  reg.add_behavior(behavior_entry{"test.beh", 5, "int", nullptr});
  auto entry = reg.find_behavior("test.beh");
  REQUIRE(entry != nullptr);
  CHECK_EQ(entry->signature, 5u);
  CHECK_EQ(entry->signature_text, "int");
  CHECK(reg.find_behavior("test.nobeh") == nullptr);
}

TEST_CASE("run_function calls a registered function on inline values") {
  register_test_code();
  auto spec = call("test.add", add_signature,
                   {value_arg(encode(2)), value_arg(encode(3))});
  auto result = run_function(spec, {});
  REQUIRE_FALSE(result.failed());
  CHECK_EQ(decode<int>(result.data), 5);
}

TEST_CASE("run_function takes resolved arguments from the payloads") {
  register_test_code();
  auto spec = call("test.add", add_signature,
                   {value_arg(encode(2)),
                    ref_arg(object_id{task_id{1, 1}, 1})});
  auto result = run_function(spec, {object_payload{}, int_payload(40)});
  REQUIRE_FALSE(result.failed());
  CHECK_EQ(decode<int>(result.data), 42);
}

TEST_CASE("a function returning nothing gives an empty value") {
  register_test_code();
  auto result = run_function(call("test.void", 0, {}), {});
  CHECK_FALSE(result.failed());
  CHECK(result.data.empty());
}

TEST_CASE("an unknown function fails with unknown_function") {
  register_test_code();
  auto spec = call("test.nope", 1, {});
  check_error(run_function(spec, {}), errc::unknown_function, spec,
              "no remote function named 'test.nope'");
}

TEST_CASE("a signature mismatch fails with signature_mismatch") {
  register_test_code();
  auto spec = call("test.add", 7, {value_arg(encode(1)), value_arg(encode(2))});
  check_error(run_function(spec, {}), errc::signature_mismatch, spec,
              "registered signature (int, int) does not match the argument "
              "types of the call (hash 7)");
}

TEST_CASE("an exception becomes a task_failed payload with type and "
          "message") {
  register_test_code();
  auto spec = call("test.throw", throw_signature, {value_arg(encode(0))});
  check_error(run_function(spec, {}), errc::task_failed, spec, "bad input",
              "std::invalid_argument");
  auto other = call("test.throw", throw_signature, {value_arg(encode(1))});
  check_error(run_function(other, {}), errc::task_failed, other,
              "non-standard exception", "int");
}

TEST_CASE("an argument that does not decode becomes a task_failed payload") {
  register_test_code();
  auto spec = call("test.add", add_signature,
                   {value_arg(encode(std::string{"abc"})),
                    value_arg(encode(1))});
  auto result = run_function(spec, {});
  CHECK_EQ(result.error_code, static_cast<uint8_t>(errc::task_failed));
  CHECK_EQ(result.error.type_name, "std::runtime_error");
}

TEST_CASE("a failed resolved argument propagates the original payload") {
  register_test_code();
  auto upstream = failed_payload(errc::object_lost, task_id{8, 8}, "gone");
  auto spec = call("test.add", add_signature,
                   {ref_arg(object_id{task_id{8, 8}, 1}),
                    value_arg(encode(1))});
  auto result = run_function(spec, {upstream, object_payload{}});
  CHECK(result.failed());
  CHECK_EQ(result.error_code, static_cast<uint8_t>(errc::object_lost));
  CHECK(result.error.task == (task_id{8, 8}));
  CHECK_EQ(result.error.function, "upstream");
  CHECK_EQ(result.error.message, "gone");
  CHECK_EQ(result.error.time_ns, 77);
}

TEST_CASE("a resolved argument without a payload fails with bad_argument") {
  register_test_code();
  auto spec = call("test.add", add_signature,
                   {value_arg(encode(1)),
                    ref_arg(object_id{task_id{8, 8}, 1})});
  check_error(run_function(spec, {}), errc::bad_argument, spec,
              "argument 1 was not resolved");
}

TEST_CASE("run_method and construct_instance") {
  register_test_code();
  auto cls = registry::instance().find_class("test.Counter");
  REQUIRE(cls != nullptr);
  object_payload failure;
  auto ctor = call("test.Counter", counter_ctor_signature,
                   {value_arg(encode(10))});
  auto instance = construct_instance(*cls, ctor, {}, failure);
  REQUIRE(instance != nullptr);
  CHECK_FALSE(failure.failed());
  auto add = call("test.Counter::add", counter_add_signature,
                  {value_arg(encode(5))});
  auto r1 = run_method(*cls, instance.get(), add, {});
  REQUIRE_FALSE(r1.failed());
  CHECK_EQ(decode<int>(r1.data), 15);
  auto get = call("test.Counter::get", counter_get_signature, {});
  CHECK_EQ(decode<int>(run_method(*cls, instance.get(), get, {}).data), 15);
  auto nope = call("test.Counter::nope", 1, {});
  check_error(run_method(*cls, instance.get(), nope, {}),
              errc::unknown_function, nope,
              "class 'test.Counter' has no method 'nope'");
  auto mismatch = call("test.Counter::add", 9, {value_arg(encode(1))});
  check_error(run_method(*cls, instance.get(), mismatch, {}),
              errc::signature_mismatch, mismatch,
              "registered signature (int) does not match the argument types "
              "of the call (hash 9)");
  auto bad_ctor = call("test.Counter", 3, {value_arg(encode(10))});
  CHECK(construct_instance(*cls, bad_ctor, {}, failure) == nullptr);
  CHECK_EQ(failure.error_code, static_cast<uint8_t>(errc::signature_mismatch));
}

TEST_CASE("a throwing constructor yields no instance and a task_failed "
          "payload") {
  register_test_code();
  auto cls = registry::instance().find_class("test.Broken");
  REQUIRE(cls != nullptr);
  object_payload failure;
  auto ctor = call("test.Broken", 0, {});
  CHECK(construct_instance(*cls, ctor, {}, failure) == nullptr);
  check_error(failure, errc::task_failed, ctor, "ctor boom",
              "std::runtime_error");
}
