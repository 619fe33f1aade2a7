#pragma once

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/send.hpp>

namespace cafray {

/// A one-way message from inside an actor's handler, without a sender (no
/// reply comes back, as with caf::anon_send; CAF-NOTES pitfall 2), but
/// scheduled like CAF's own `send`: a receiver that was idle goes to the
/// sending thread's own queue and runs on it next. caf::anon_send hands it
/// to the scheduler instead, which picks a thread round robin, often one
/// that is asleep, and a hop between components pays that thread's wake-up.
template <class Self, class Dest, class... Ts>
void tell(Self* self, const Dest& dest, Ts&&... xs) {
  static_assert(sizeof...(Ts) > 0, "no message to send");
  using token = caf::detail::type_list<caf::detail::strip_and_convert_t<Ts>...>;
  static_assert(
    caf::response_type_unbox<caf::signatures_of_t<Dest>, token>::valid,
    "receiver does not accept given message");
  if (!dest)
    return;
  auto ptr = caf::actor_cast<caf::abstract_actor*>(dest);
  ptr->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                         std::forward<Ts>(xs)...),
               self->context());
}

} // namespace cafray
