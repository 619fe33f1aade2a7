// The one error list: names, descriptions, rendering and the mapping of
// CAF's own errors.

#include <doctest/doctest.h>

#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/sec.hpp>

#include "common/error.hpp"
#include "proto/register_types.hpp"

using namespace cafray;

TEST_CASE("to_string and description of caf-ray codes") {
  CHECK_EQ(std::string{to_string(errc::none)}, "none");
  CHECK_EQ(std::string{description(errc::none)}, "no error");
  CHECK_EQ(std::string{to_string(errc::timeout)}, "timeout");
  CHECK_EQ(std::string{description(errc::timeout)}, "timed out");
  CHECK_EQ(std::string{to_string(errc::actor_died)}, "actor_died");
  CHECK_EQ(std::string{description(errc::actor_died)}, "the actor is dead");
  CHECK_EQ(std::string{to_string(errc::shutting_down)}, "shutting_down");
  CHECK_EQ(static_cast<int>(errc::task_failed), 1);
  CHECK_EQ(static_cast<int>(errc::shutting_down), 18);
  CHECK_EQ(std::string{to_string(static_cast<errc>(200))}, "unknown");
  CHECK_EQ(std::string{description(static_cast<errc>(200))},
           "unknown error");
}

TEST_CASE("a caf-ray error: category, code_of and render") {
  auto err = make_error(errc::timeout);
  CHECK(err.category() == error_category);
  CHECK_EQ(err.code(), 5);
  CHECK_EQ(code_of(err), errc::timeout);
  CHECK_EQ(render(err), "timeout: timed out");
  auto with_ctx = make_error(errc::not_found, "key k1", 42);
  CHECK_EQ(code_of(with_ctx), errc::not_found);
  CHECK_EQ(render(with_ctx), "not_found: no such key (key k1, 42)");
}

TEST_CASE("CAF errors: request timeout maps to timeout, others to "
          "runtime_error") {
  auto timeout = caf::make_error(caf::sec::request_timeout);
  CHECK_EQ(code_of(timeout), errc::timeout);
  CHECK_EQ(render(timeout), "system: code 4");
  auto unexpected = caf::make_error(caf::sec::unexpected_message);
  CHECK_EQ(code_of(unexpected), errc::runtime_error);
  CHECK_EQ(render(unexpected), "system: code 1");
  CHECK_EQ(code_of(caf::error{}), errc::none);
  CHECK_EQ(render(caf::error{}), "none");
}

TEST_CASE("the actor system renders caf-ray errors with the registered "
          "category") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  CHECK_EQ(sys.render(make_error(errc::actor_died)),
           "actor_died: the actor is dead");
  CHECK_EQ(sys.render(make_error(errc::object_lost, std::string{"obj 7"})),
           "object_lost: the object is lost (\"obj 7\")");
}
