#pragma once

#include <caf/scheduled_actor.hpp>
#include <fmt/core.h>

namespace cafray {

/// Makes a long-lived actor log, rather than die of, unexpected messages,
/// stray error responses and down messages of actors it does not track
/// (CAF-NOTES pitfall 2). Components that monitor peers install their own
/// down handler afterwards.
template <class Self>
void install_guards(Self* self) {
  self->set_default_handler(caf::print_and_drop);
  self->set_error_handler([self](caf::error& err) {
    fmt::print(stderr, "{}: error message: {}\n", self->name(),
               self->system().render(err));
  });
  self->set_down_handler([](caf::down_msg&) {
    // Nobody this actor cares about.
  });
}

} // namespace cafray
