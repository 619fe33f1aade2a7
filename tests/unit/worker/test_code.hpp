#pragma once

// User code for the worker tests, registered through the registry API (the
// api macros would pull in the whole runtime).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "common/error.hpp"
#include "proto/messages.hpp"
#include "worker/codec.hpp"
#include "worker/registry.hpp"

namespace cafray::test {

constexpr uint64_t add_signature = 101;
constexpr uint64_t throw_signature = 102;
constexpr uint64_t counter_ctor_signature = 201;
constexpr uint64_t counter_add_signature = 202;
constexpr uint64_t counter_get_signature = 203;
constexpr uint64_t counter_pause_signature = 204;

/// Holds "test.gate" tasks until opened: lets a test keep a worker busy.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;

  static gate& instance() {
    static gate g;
    return g;
  }

  /// The gate of "test.Counter::pause" calls, apart from "test.gate"'s.
  static gate& pauses() {
    static gate g;
    return g;
  }

  void pass() {
    std::unique_lock<std::mutex> guard{mtx};
    ++entered;
    cv.notify_all();
    cv.wait(guard, [this] { return open; });
  }

  void await_entered(int n) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait(guard, [&] { return entered >= n; });
  }

  void release() {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
    cv.notify_all();
  }

  void close() {
    std::lock_guard<std::mutex> guard{mtx};
    open = false;
  }
};

inline void register_test_code() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& reg = registry::instance();
    reg.add_function(function_entry{
      "test.add", add_signature, "int, int", [](const arg_blobs& args) {
        return encode(decode<int>(args.at(0)) + decode<int>(args.at(1)));
      }});
    reg.add_function(function_entry{
      "test.throw", throw_signature, "int", [](const arg_blobs& args) -> blob {
        if (decode<int>(args.at(0)) == 0)
          throw std::invalid_argument("bad input");
        throw 42;
      }});
    reg.add_function(function_entry{
      "test.void", 0, "", [](const arg_blobs&) { return blob{}; }});
    reg.add_function(function_entry{"test.gate", 0, "",
                                    [](const arg_blobs&) {
                                      gate::instance().pass();
                                      return blob{};
                                    }});
    // Methods first, as static initialization may order them.
    reg.add_method("test.Counter",
                   method_entry{"add", counter_add_signature, "int",
                                [](void* self, const arg_blobs& args) {
                                  auto& n = *static_cast<int*>(self);
                                  n += decode<int>(args.at(0));
                                  return encode(n);
                                },
                                "add-ptr"});
    actor_class_entry counter;
    counter.name = "test.Counter";
    counter.ctor_signature = counter_ctor_signature;
    counter.ctor_signature_text = "int";
    counter.construct = [](const arg_blobs& args) -> std::shared_ptr<void> {
      return std::make_shared<int>(decode<int>(args.at(0)));
    };
    // Waits at gate::pauses(), then answers the count.
    counter.methods.push_back(method_entry{
      "pause", counter_pause_signature, "int",
      [](void* self, const arg_blobs&) {
        gate::pauses().pass();
        return encode(*static_cast<int*>(self));
      },
      "pause-ptr"});
    counter.methods.push_back(method_entry{
      "get", counter_get_signature, "",
      [](void* self, const arg_blobs&) {
        return encode(*static_cast<int*>(self));
      },
      "get-ptr"});
    reg.add_class(std::move(counter));
    actor_class_entry broken;
    broken.name = "test.Broken";
    broken.ctor_signature = 0;
    broken.construct = [](const arg_blobs&) -> std::shared_ptr<void> {
      throw std::runtime_error("ctor boom");
    };
    broken.methods.push_back(method_entry{
      "get", 0, "", [](void*, const arg_blobs&) { return encode(1); }, ""});
    reg.add_class(std::move(broken));
  });
}

inline task_arg value_arg(const blob& bytes) {
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::value);
  arg.value = bytes;
  return arg;
}

inline task_arg ref_arg(const object_id& id) {
  task_arg arg;
  arg.kind = static_cast<uint8_t>(arg_kind::resolved);
  arg.ref = id;
  return arg;
}

inline object_payload int_payload(int x) {
  object_payload result;
  result.data = encode(x);
  return result;
}

inline object_payload failed_payload(errc code, task_id task,
                                     std::string message) {
  object_payload result;
  result.error_code = static_cast<uint8_t>(code);
  result.error.code = static_cast<uint8_t>(code);
  result.error.task = task;
  result.error.function = "upstream";
  result.error.message = std::move(message);
  result.error.time_ns = 77;
  return result;
}

} // namespace cafray::test
