#include "gcs/gcs_chain_client.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "gcs/chain_codec.hpp"
#include "gcs/chain_connect.hpp"

namespace cafray {

namespace {

chain_client_id random_client_id() {
  std::random_device device;
  std::mt19937_64 rng{(uint64_t{device()} << 32) | device()};
  chain_client_id result = 0;
  while (result == 0)
    result = rng();
  return result;
}

uint64_t oldest_pending(const gcs_chain_client_state& st) {
  for (auto& [number, request] : st.pending)
    if (request.write)
      return number;
  return st.next_request + 1;
}

void refresh(gcs_chain_client_pointer self);

void tick_soon(gcs_chain_client_pointer self);

/// Sends requests `numbers` to the current configuration: the writes in
/// one batch to the head, the reads to the tail.
void send_requests(gcs_chain_client_pointer self,
                   const std::vector<uint64_t>& numbers) {
  auto& st = self->state;
  auto now = chain_clock::now();
  auto& members = st.config.members;
  if (members.empty() || !members.front().handle || !members.back().handle) {
    for (auto number : numbers)
      if (auto i = st.pending.find(number); i != st.pending.end()) {
        i->second.parked = true;
        i->second.sent = now;
      }
    tick_soon(self);
    refresh(self);
    return;
  }
  request_block writes;
  auto oldest = oldest_pending(st);
  for (auto number : numbers) {
    auto i = st.pending.find(number);
    if (i == st.pending.end())
      continue;
    auto& request = i->second;
    request.sent = now;
    request.parked = false;
    ++request.attempts;
    if (request.write)
      writes.add(number, oldest, request.row.table, request.row.key,
                 request.row.erase ? nullptr : &request.row.value);
    else
      self->send(members.back().handle,
                 wire::chain_read_request{st.config.epoch, st.id, number,
                                          request.row.table, request.row.key});
  }
  if (writes.count() == 0)
    return;
  wire::chain_write_batch batch{st.config.epoch, st.id, writes.finish()};
  if (st.options.endpoint)
    self->send(st.options.endpoint, members.front().handle, std::move(batch));
  else
    self->send(members.front().handle, std::move(batch));
}

void on_configuration(gcs_chain_client_pointer self,
                      wire::chain_configuration& config) {
  auto& st = self->state;
  if (config.epoch <= st.config.epoch)
    return; // parked requests go again with the next tick
  st.suspect = false;
  st.config = std::move(config);
  auto& members = st.config.members;
  // Clients connect to every member themselves (see chain_connect.hpp).
  for (auto& member : members)
    connect_to(self, st.connected, member);
  if (!members.empty()) {
    // A dead head or tail makes the client ask again at once.
    for (auto* member : {&members.front(), &members.back()})
      if (member->handle)
        self->monitor(member->handle);
    st.head = members.front().handle.address();
    st.tail = members.back().handle.address();
  }
  // Anything may have been lost with the old chain; writes are applied
  // once however often they arrive.
  std::vector<uint64_t> all;
  for (auto& [number, request] : st.pending)
    all.push_back(number);
  st.unsent.clear();
  send_requests(self, all);
}

void refresh(gcs_chain_client_pointer self) {
  auto& st = self->state;
  if (st.refreshing || !st.coordinator)
    return;
  st.refreshing = true;
  self->request(st.coordinator, st.options.coordinator_timeout, get_atom_v)
    .then(
      [self](wire::chain_configuration& config) {
        self->state.refreshing = false;
        on_configuration(self, config);
      },
      [self](caf::error&) { self->state.refreshing = false; });
}

/// Sends request `number` with everything else submitted before the next
/// `flush_atom`, which follows the messages already in the mailbox.
void send_soon(gcs_chain_client_pointer self, uint64_t number) {
  auto& st = self->state;
  st.unsent.push_back(number);
  if (st.flushing)
    return;
  st.flushing = true;
  caf::anon_send(caf::actor_cast<gcs_chain_client_actor>(self),
                 flush_atom_v);
}

void flush(gcs_chain_client_pointer self) {
  auto& st = self->state;
  st.flushing = false;
  if (st.unsent.empty())
    return;
  auto numbers = std::move(st.unsent);
  st.unsent.clear();
  send_requests(self, numbers);
}

bool any_parked(const gcs_chain_client_state& st) {
  return std::any_of(st.pending.begin(), st.pending.end(),
                     [](auto& x) { return x.second.parked; });
}

/// Schedules the next tick: soon while a request is parked, else later.
void schedule_tick(gcs_chain_client_pointer self, bool soon) {
  auto& st = self->state;
  auto delay = soon ? st.options.tick_interval
                    : st.options.idle_tick_interval();
  st.tick_due = chain_clock::now() + delay;
  caf::delayed_anon_send(caf::actor_cast<gcs_chain_client_actor>(self),
                         delay, tick_atom_v);
}

/// A request was parked: the tick comes within `tick_interval`.
void tick_soon(gcs_chain_client_pointer self) {
  auto& st = self->state;
  if (!st.ticking) {
    st.ticking = true;
    schedule_tick(self, true);
  } else if (st.tick_due > chain_clock::now() + st.options.tick_interval) {
    schedule_tick(self, true);
  }
}

/// Registers a request; `send_requests` sends it.
uint64_t enqueue(gcs_chain_client_pointer self, gcs_chain_pending request) {
  auto& st = self->state;
  if (!st.ticking) {
    st.ticking = true;
    schedule_tick(self, false);
  }
  auto number = ++st.next_request;
  request.started = chain_clock::now();
  // Not overdue before the flush sends it.
  request.sent = request.started;
  st.pending.emplace(number, std::move(request));
  return number;
}

/// Registers a request and sends it.
void submit(gcs_chain_client_pointer self, gcs_chain_pending request) {
  send_soon(self, enqueue(self, std::move(request)));
}

void fail(gcs_chain_pending& request, caf::error err) {
  if (request.group) {
    auto& group = *request.group;
    if (!group.failed) {
      group.failed = true;
      group.written.deliver(std::move(err));
    }
  } else if (request.write) {
    request.written.deliver(std::move(err));
  } else {
    request.read.deliver(std::move(err));
  }
}

void succeed(gcs_chain_pending& request, uint64_t seq) {
  if (!request.group) {
    request.written.deliver(seq);
    return;
  }
  auto& group = *request.group;
  group.last_seq = std::max(group.last_seq, seq);
  if (--group.remaining == 0 && !group.failed)
    group.written.deliver(group.last_seq);
}

void on_answers(gcs_chain_client_pointer self, wire::chain_answers& msg) {
  auto& st = self->state;
  if (msg.client != st.id)
    return; // not ours: request numbers are per client
  for (auto& ack : msg.acks) {
    auto i = st.pending.find(ack.request);
    if (i == st.pending.end() || !i->second.write)
      continue;
    succeed(i->second, ack.seq);
    st.pending.erase(i);
  }
  for (auto& reply : msg.reads) {
    auto i = st.pending.find(reply.request);
    if (i == st.pending.end() || i->second.write)
      continue;
    i->second.read.deliver(wire::chain_read_result{
      reply.found, std::move(reply.value), reply.seq});
    st.pending.erase(i);
  }
  bool stale = false;
  for (auto& refused : msg.refusals) {
    // A replica with a newer configuration (request 0: the replica's own
    // notice of a new configuration, see gcs_replica.cpp).
    if (refused.epoch > st.config.epoch)
      stale = true;
    auto i = st.pending.find(refused.request);
    if (i == st.pending.end())
      continue;
    switch (static_cast<chain_refusal>(refused.reason)) {
      case chain_refusal::full:
        fail(i->second, make_error(errc::gcs_full));
        st.pending.erase(i);
        break;
      case chain_refusal::invalid:
        fail(i->second, make_error(errc::storage_error,
                                   "the GCS cannot hold this row"));
        st.pending.erase(i);
        break;
      default:
        // Goes again with the next tick or the next configuration.
        i->second.parked = true;
        i->second.last_refusal = refused.reason;
        stale = true;
        tick_soon(self);
    }
  }
  if (stale)
    refresh(self);
}

void on_tick(gcs_chain_client_pointer self) {
  auto& st = self->state;
  // Tries again where connecting failed (a member not accepting yet).
  for (auto& member : st.config.members)
    connect_to(self, st.connected, member);
  auto now = chain_clock::now();
  std::vector<uint64_t> due;
  bool overdue = false;
  for (auto i = st.pending.begin(); i != st.pending.end();) {
    auto& request = i->second;
    if (now - request.started >= st.options.request_timeout) {
      auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        now - request.started);
      fmt::print(stderr,
                 "[gcs_chain_client {}] request {} ({}) timed out after {} ms"
                 ": {} attempts, last refusal {}, epoch {}, {} members\n",
                 st.id, i->first, request.write ? "write" : "read",
                 age.count(), request.attempts, request.last_refusal,
                 st.config.epoch, st.config.members.size());
      fail(request, make_error(errc::timeout, "GCS request"));
      i = st.pending.erase(i);
      continue;
    }
    if (now - request.sent >= st.options.resend_after) {
      overdue = true;
      due.push_back(i->first);
    } else if (request.parked && now - request.sent >= st.options.tick_interval) {
      due.push_back(i->first);
    }
    ++i;
  }
  if (overdue || st.suspect)
    refresh(self);
  if (!due.empty())
    send_requests(self, due);
  // A tick overtaken by a sooner one (tick_soon) leaves the timer to it.
  if (now + std::chrono::milliseconds{1} < st.tick_due)
    return;
  st.ticking = !st.pending.empty();
  if (st.ticking)
    schedule_tick(self, any_parked(st));
}

} // namespace

gcs_chain_client_actor::behavior_type
gcs_chain_client(gcs_chain_client_pointer self,
                 gcs_coordinator_actor coordinator,
                 gcs_chain_client_options options) {
  auto& st = self->state;
  st.options = options;
  st.coordinator = std::move(coordinator);
  st.id = options.id != 0 ? options.id : random_client_id();
  self->set_error_handler([self](caf::error& err) {
    fmt::print(stderr, "[gcs_chain_client {}] error message: {}\n",
               self->state.id, render(err));
  });
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.head || msg.source == self->state.tail) {
      self->state.suspect = true;
      refresh(self);
    }
  });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_chain_client] unexpected message: {}\n",
                 caf::to_string(msg.copy_content_to_message()));
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
  refresh(self);
  return {
    [self](put_atom, uint8_t table, std::string& key,
           std::string& value) -> caf::result<uint64_t> {
      gcs_chain_pending request;
      request.write = true;
      request.row = wire::chain_write{table, std::move(key), false,
                                      std::move(value)};
      request.written = self->make_response_promise<uint64_t>();
      auto result = request.written;
      submit(self, std::move(request));
      return result;
    },
    [self](put_atom,
           std::vector<wire::chain_write>& rows) -> caf::result<uint64_t> {
      if (rows.empty())
        return uint64_t{0};
      auto group = std::make_shared<gcs_chain_write_group>();
      group->written = self->make_response_promise<uint64_t>();
      group->remaining = rows.size();
      std::vector<uint64_t> numbers;
      numbers.reserve(rows.size());
      for (auto& row : rows) {
        gcs_chain_pending request;
        request.write = true;
        request.row = std::move(row);
        request.group = group;
        numbers.push_back(enqueue(self, std::move(request)));
      }
      // One message to the head, one transaction there.
      send_requests(self, numbers);
      return group->written;
    },
    [self](delete_atom, uint8_t table,
           std::string& key) -> caf::result<uint64_t> {
      gcs_chain_pending request;
      request.write = true;
      request.row = wire::chain_write{table, std::move(key), true, {}};
      request.written = self->make_response_promise<uint64_t>();
      auto result = request.written;
      submit(self, std::move(request));
      return result;
    },
    [self](get_atom, uint8_t table,
           std::string& key) -> caf::result<wire::chain_read_result> {
      gcs_chain_pending request;
      request.row = wire::chain_write{table, std::move(key), false, {}};
      request.read = self->make_response_promise<wire::chain_read_result>();
      auto result = request.read;
      submit(self, std::move(request));
      return result;
    },
    [self](wire::chain_answers& msg) { on_answers(self, msg); },
    [self](wire::chain_answer_batches& msg) {
      for (auto& answers : msg.answers)
        on_answers(self, answers);
    },
    [self](tick_atom) { on_tick(self); },
    [self](flush_atom) { flush(self); },
  };
}

} // namespace cafray
