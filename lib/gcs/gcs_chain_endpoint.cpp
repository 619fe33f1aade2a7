#include "gcs/gcs_chain_endpoint.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "common/error.hpp"

namespace cafray {

namespace {

void deliver(gcs_chain_endpoint_pointer self, wire::chain_answers& msg) {
  auto& st = self->state;
  auto i = st.clients.find(msg.client);
  if (i == st.clients.end())
    return; // the client retries, and then we know it
  auto client = caf::actor_cast<gcs_chain_client_actor>(i->second);
  if (!client) {
    st.clients.erase(i);
    return;
  }
  self->send(client, std::move(msg));
}

void flush(gcs_chain_endpoint_pointer self) {
  auto& st = self->state;
  st.flushing = false;
  auto queued = std::move(st.queued);
  st.queued.clear();
  for (auto& [head, msg] : queued)
    self->send(head, std::move(msg));
}

} // namespace

gcs_chain_endpoint_actor::behavior_type
gcs_chain_endpoint(gcs_chain_endpoint_pointer self) {
  self->set_error_handler([](caf::error& err) {
    fmt::print(stderr, "[gcs_chain_endpoint] error message: {}\n",
               render(err));
  });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_chain_endpoint] unexpected message: {}\n",
                 caf::to_string(msg.copy_content_to_message()));
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
  return {
    [self](gcs_replica_actor& head, wire::chain_write_batch& msg) {
      auto& st = self->state;
      if (auto sender = self->current_sender())
        st.clients[msg.client] = sender->address();
      auto i = std::find_if(st.queued.begin(), st.queued.end(),
                            [&](auto& x) { return x.first == head; });
      if (i == st.queued.end()) {
        st.queued.emplace_back(std::move(head), wire::chain_write_batches{});
        i = st.queued.end() - 1;
      }
      i->second.batches.push_back(std::move(msg));
      if (!st.flushing) {
        st.flushing = true;
        caf::anon_send(caf::actor_cast<gcs_chain_endpoint_actor>(self),
                       flush_atom_v);
      }
    },
    [self](wire::chain_answers& msg) {
      if (!self->state.queued.empty())
        flush(self);
      deliver(self, msg);
    },
    [self](wire::chain_answer_batches& msg) {
      if (!self->state.queued.empty())
        flush(self);
      for (auto& answers : msg.answers)
        deliver(self, answers);
    },
    [self](flush_atom) { flush(self); },
  };
}

} // namespace cafray
