#include "gcs/gcs_replica.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/typed_broker.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "gcs/chain_codec.hpp"
#include "gcs/chain_wire.hpp"
#include "gcs/lmdb_chain_store.hpp"

namespace cafray {

namespace {

template <class Self>
void log(Self* self, const std::string& what) {
  fmt::print(stderr, "[gcs_replica {}] {}\n", self->state.logic->id(), what);
}

/// Remembers the handle of the client that sent the current message.
template <class Self>
void learn_sender(Self* self, chain_client_id client) {
  auto sender = self->current_sender();
  if (sender == nullptr)
    return;
  auto& known = self->state.clients[client];
  auto handle = caf::actor_cast<gcs_chain_client_actor>(sender);
  if (known != handle) {
    known = std::move(handle);
    // A new incarnation of the client: the successor learns it again.
    self->state.introduced.erase(client);
  }
}

template <class Self>
wire::chain_forward forward_to_wire(Self* self,
                                    const chain_forward& msg) {
  auto& st = self->state;
  wire::chain_forward result;
  result.epoch = msg.epoch;
  result.from = st.logic->id();
  append_entries(result.block, msg.entries.data(), msg.entries.size());
  for (auto& entry : msg.entries) {
    if (st.introduced.count(entry.client) > 0)
      continue;
    if (auto i = st.clients.find(entry.client); i != st.clients.end()) {
      result.clients.push_back(wire::chain_client_handle{i->first, i->second});
      st.introduced.insert(entry.client);
    }
  }
  return result;
}

/// Sends what the logic asked for: to replicas, the coordinator, and to
/// clients one message per client with all their answers.
template <class Self>
void route(Self* self, chain_outbox out) {
  auto& st = self->state;
  std::map<chain_client_id, wire::chain_answers> answers;
  for (auto& envelope : out) {
    auto& msg = envelope.payload;
    switch (envelope.to.kind) {
      case chain_address::client: {
        auto& dst = answers[envelope.to.id];
        if (auto x = std::get_if<chain_write_ack>(&msg))
          dst.acks.push_back(wire::chain_write_ack{x->request, x->seq});
        else if (auto x = std::get_if<chain_read_reply>(&msg))
          dst.reads.push_back(wire::chain_read_reply{
            x->request, x->seq, x->value.has_value(), x->value.value_or("")});
        else if (auto x = std::get_if<chain_refused>(&msg))
          dst.refusals.push_back(wire::chain_refused{
            x->request, static_cast<uint8_t>(x->reason), x->epoch});
        break;
      }
      case chain_address::coordinator:
        if (auto x = std::get_if<chain_heartbeat>(&msg))
          self->send(st.coordinator,
                     wire::chain_heartbeat{x->replica, x->epoch, x->number});
        else if (auto x = std::get_if<chain_joined>(&msg))
          self->send(st.coordinator,
                     wire::chain_joined{x->replica, x->attempt, x->seq});
        break;
      case chain_address::replica: {
        auto i = st.replicas.find(envelope.to.id);
        if (i == st.replicas.end()) {
          log(self, std::string{"no handle for replica "}
                      + std::to_string(envelope.to.id) + ", dropped "
                      + payload_name(msg));
          break;
        }
        auto& dst = i->second;
        auto me = st.logic->id();
        if (auto x = std::get_if<chain_forward>(&msg))
          self->send(dst, forward_to_wire(self, *x));
        else if (auto x = std::get_if<chain_ack>(&msg))
          self->send(dst, wire::chain_ack{x->epoch, me, x->seq});
        else if (auto x = std::get_if<chain_sync>(&msg))
          self->send(dst, wire::chain_sync{x->epoch, me, x->upto});
        else if (auto x = std::get_if<chain_snapshot_transfer>(&msg))
          for (auto& part :
               snapshot_to_chunks(me, *x, st.options.snapshot_chunk_bytes))
            self->send(dst, std::move(part));
        break;
      }
    }
  }
  // One message per handle: clients that share their process's endpoint
  // get their answers together.
  std::vector<std::pair<gcs_chain_client_actor, wire::chain_answer_batches>>
    by_handle;
  for (auto& [client, msg] : answers) {
    auto i = st.clients.find(client);
    if (i == st.clients.end())
      continue; // the client retries, and then we know it
    msg.replica = st.logic->id();
    msg.client = client;
    auto j = std::find_if(by_handle.begin(), by_handle.end(),
                          [&](auto& x) { return x.first == i->second; });
    if (j == by_handle.end()) {
      by_handle.emplace_back(i->second, wire::chain_answer_batches{});
      j = by_handle.end() - 1;
    }
    j->second.answers.push_back(std::move(msg));
  }
  for (auto& [handle, msg] : by_handle) {
    if (msg.answers.size() == 1)
      self->send(handle, std::move(msg.answers.front()));
    else
      self->send(handle, std::move(msg));
  }
}

template <class Self>
void receive(Self* self, chain_address from,
             chain_payload msg) {
  route(self, self->state.logic->receive(from, std::move(msg)));
}

/// Takes up to `max` writes from the front of `queue`, whole client
/// batches but at least one.
chain_replica::client_writes take_writes(chain_replica::client_writes& queue,
                                         size_t max) {
  chain_replica::client_writes result;
  size_t count = 0;
  auto i = queue.begin();
  while (i != queue.end()
         && (result.empty() || count + i->second.size() <= max)) {
    count += i->second.size();
    result.push_back(std::move(*i));
    ++i;
  }
  queue.erase(queue.begin(), i);
  return result;
}

/// Applies up to `max` of the queued writes: client writes, or forwarded
/// ones, in the order they arrived. Returns whether more wait.
template <class Self>
bool flush_some(Self* self, size_t max) {
  auto& st = self->state;
  max = std::max(max, size_t{1});
  if (!st.queued_writes.empty()) {
    route(self,
          st.logic->receive_writes(take_writes(st.queued_writes, max)));
    if (!st.queued_writes.empty())
      return true;
  }
  if (st.queued_forward) {
    auto& entries = st.queued_forward->entries;
    chain_forward msg{st.queued_forward->epoch, {}};
    if (entries.size() <= max) {
      msg = std::move(*st.queued_forward);
      st.queued_forward.reset();
    } else {
      msg.entries.assign(std::make_move_iterator(entries.begin()),
                         std::make_move_iterator(entries.begin() + max));
      entries.erase(entries.begin(), entries.begin() + max);
    }
    receive(self, chain_address::of_replica(st.queued_forward_from),
            std::move(msg));
  }
  return st.queued_forward.has_value();
}

/// Whether client writes or forwarded ones wait in the queue.
template <class Self>
bool writes_waiting(Self* self) {
  auto& st = self->state;
  return !st.queued_writes.empty() || st.queued_forward.has_value();
}

template <class Self>
void schedule_flush(Self* self);

/// Applies everything queued. Every message but the replica's own flush
/// does this first, so that the logic sees all messages in the order they
/// arrived.
template <class Self>
void flush_queue(Self* self) {
  while (flush_some(self, SIZE_MAX))
    ; // nop
  // The rows of what it applied follow in a turn of their own.
  if (self->state.store->pending() > 0)
    schedule_flush(self);
}

template <class Self>
void schedule_flush(Self* self) {
  auto& st = self->state;
  if (st.flushing)
    return;
  st.flushing = true;
  caf::anon_send(caf::actor_cast<gcs_replica_actor>(self), flush_atom_v);
}

template <class Self>
void queue_writes(Self* self, wire::chain_write_batch& msg) {
  auto& st = self->state;
  if (st.queued_forward)
    flush_queue(self);
  std::vector<chain_write_request> requests;
  if (!requests_from_wire(msg, requests)) {
    // Dropped like a message lost on the way: the client resends.
    log(self, "corrupt writes from client " + std::to_string(msg.client));
    return;
  }
  st.queued_writes.emplace_back(chain_address::of_client(msg.client),
                                std::move(requests));
  schedule_flush(self);
}

template <class Self>
void queue_forward(Self* self, wire::chain_forward& msg) {
  auto& st = self->state;
  if (!st.queued_writes.empty()
      || (st.queued_forward
          && (st.queued_forward_from != msg.from
              || st.queued_forward->epoch != msg.epoch)))
    flush_queue(self);
  if (!st.queued_forward) {
    st.queued_forward = chain_forward{msg.epoch, {}};
    st.queued_forward_from = msg.from;
  }
  if (!entries_from_wire(msg, st.queued_forward->entries))
    // Dropped like a message lost on the way: the predecessor resends
    // with the next configuration.
    log(self, "corrupt forward from replica " + std::to_string(msg.from));
  schedule_flush(self);
}

auto coordinator_address() {
  return chain_address::of_coordinator();
}

template <class Self>
void on_configuration(Self* self,
                      const wire::chain_configuration& msg) {
  auto& st = self->state;
  if (msg.epoch <= st.logic->epoch())
    return;
  st.peers.clear();
  for (auto& member : msg.members) {
    if (member.handle)
      st.replicas[member.replica] = member.handle;
    // One side of each pair connects: the replica with the smaller id.
    if (member.replica > st.logic->id()) {
      connect_to(self, st.connected, member);
      st.peers.push_back(member);
    }
  }
  // A successor of the new configuration gets every handle again with the
  // writes the logic resends.
  st.introduced.clear();
  receive(self, coordinator_address(), chain_install{config_from_wire(msg)});
  // The clients this replica knows learn at once that the chain changed:
  // writes they sent to a replica that is out now (removed while alive, its
  // lease having run out under load) would otherwise wait for the client's
  // resend timeout. A refusal of request 0, which no client uses, with the
  // new epoch makes a client fetch the configuration and resend.
  for (auto& [client, handle] : st.clients) {
    wire::chain_answers nudge;
    nudge.replica = st.logic->id();
    nudge.client = client;
    nudge.refusals.push_back(wire::chain_refused{
      0, static_cast<uint8_t>(chain_refusal::stale_request), msg.epoch});
    self->send(handle, std::move(nudge));
  }
}

template <class Self>
void on_snapshot_part(Self* self,
                      wire::chain_snapshot_chunk& msg) {
  auto& st = self->state;
  auto key = std::pair{msg.from, msg.attempt};
  auto last = msg.last;
  auto& parts = st.snapshot_parts[key];
  parts.push_back(std::move(msg));
  if (!last)
    return;
  auto transfer = snapshot_from_chunks(std::move(parts));
  st.snapshot_parts.clear();
  receive(self, chain_address::of_replica(key.first), std::move(transfer));
}

template <class Self>
wire::chain_replica_status status_of(Self* self) {
  auto& st = self->state;
  auto& logic = *st.logic;
  wire::chain_replica_status result;
  result.replica = logic.id();
  result.epoch = logic.epoch();
  result.last_applied = logic.last_applied();
  result.digest = st.store->digest();
  result.member = logic.member();
  result.retired = logic.retired();
  result.tail = logic.is_tail();
  result.serving_reads = logic.serving_reads();
  result.chain = logic.config().replicas;
  return result;
}

template <class Self>
void schedule_tick(Self* self) {
  caf::delayed_anon_send(caf::actor_cast<gcs_replica_actor>(self),
                         self->state.options.heartbeat_interval,
                         tick_atom_v);
}

template <class Self>
void install_handlers(Self* self) {
  self->set_error_handler([self](caf::error& err) {
    log(self, "error message: " + render(err));
  });
  self->set_down_handler([](caf::down_msg&) {
    // nop: the coordinator watches the replicas
  });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_replica {}] unexpected message: {}\n",
                 ptr->id(), caf::to_string(msg.copy_content_to_message()));
      // Answer only requests: an answer to a plain send would bounce into
      // the sender's default handler (CAF-NOTES pitfall 2).
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
}

template <class Self>
gcs_replica_actor::behavior_type
replica_behavior(Self* self, replica_id id, std::shared_ptr<chain_store> store,
                 gcs_coordinator_actor coordinator,
                 gcs_replica_options options) {
  auto& st = self->state;
  st.store = std::move(store);
  st.coordinator = std::move(coordinator);
  st.options = options;
  st.logic = std::make_unique<chain_replica>(id, *st.store,
                                             [] { return chain_clock::now(); });
  st.logic->set_ack_every(st.options.ack_every);
  install_handlers(self);
  auto me = caf::actor_cast<gcs_replica_actor>(self);
  self->send(st.coordinator,
             wire::chain_announce{wire::chain_member{id, me, st.options.host,
                                                     st.options.port},
                                  st.logic->last_applied()});
  schedule_tick(self);
  return {
    [self](wire::chain_write_batch& msg) {
      learn_sender(self, msg.client);
      queue_writes(self, msg);
    },
    [self](wire::chain_write_batches& msg) {
      for (auto& batch : msg.batches) {
        learn_sender(self, batch.client);
        queue_writes(self, batch);
      }
    },
    [self](wire::chain_read_request& msg) {
      flush_queue(self);
      learn_sender(self, msg.client);
      receive(self, chain_address::of_client(msg.client), from_wire(msg));
    },
    [self](wire::chain_forward& msg) {
      for (auto& client : msg.clients)
        if (client.handle)
          self->state.clients[client.client] = std::move(client.handle);
      queue_forward(self, msg);
    },
    [self](wire::chain_ack& msg) {
      flush_queue(self);
      receive(self, chain_address::of_replica(msg.from),
              chain_ack{msg.epoch, msg.seq});
    },
    [self](wire::chain_sync& msg) {
      flush_queue(self);
      receive(self, chain_address::of_replica(msg.from),
              chain_sync{msg.epoch, msg.upto});
    },
    [self](wire::chain_snapshot_chunk& msg) {
      flush_queue(self);
      on_snapshot_part(self, msg);
    },
    [self](wire::chain_configuration& msg) {
      flush_queue(self);
      on_configuration(self, msg);
    },
    [self](wire::chain_lease& msg) {
      flush_queue(self);
      receive(self, coordinator_address(),
              chain_lease{msg.number, std::chrono::nanoseconds{msg.duration_ns}});
    },
    [self](wire::chain_snapshot_request& msg) {
      flush_queue(self);
      if (msg.joiner.handle)
        self->state.replicas[msg.joiner.replica] = msg.joiner.handle;
      if (msg.joiner.replica > self->state.logic->id())
        connect_to(self, self->state.connected, msg.joiner);
      receive(self, coordinator_address(),
              chain_snapshot_request{msg.epoch, msg.attempt,
                                     msg.joiner.replica});
    },
    [self](wire::chain_cancel_join& msg) {
      flush_queue(self);
      receive(self, coordinator_address(), chain_cancel_join{msg.attempt});
    },
    [self](wire::chain_retire&) {
      flush_queue(self);
      receive(self, coordinator_address(), chain_retire{});
      log(self, "retired");
    },
    [self](flush_atom) {
      // A part at a time: the successor starts on one while this replica
      // applies the next, instead of the whole chain working in lock step
      // on one large batch. The rows the store left for later get a turn
      // of their own once no part waits (or too many rows do), after the
      // forwards left.
      auto& st = self->state;
      st.flushing = false;
      auto max = st.options.max_batch_writes;
      if (writes_waiting(self) && st.store->pending() < 4 * max) {
        flush_some(self, max);
        schedule_flush(self);
        return;
      }
      st.logic->write_rows();
      if (st.logic->retired())
        log(self, "the store failed to write rows: retired");
      else if (writes_waiting(self))
        schedule_flush(self);
    },
    [self](tick_atom) {
      flush_queue(self);
      // A peer may not have accepted connections yet when the configuration
      // came (a replica announces itself before it publishes its port).
      for (auto& peer : self->state.peers)
        connect_to(self, self->state.connected, peer);
      // A retired replica stays to refuse clients, but stays quiet.
      if (self->state.logic->retired())
        return;
      route(self, self->state.logic->heartbeat());
      schedule_tick(self);
    },
    [self](stats_atom) {
      flush_queue(self);
      return status_of(self);
    },
    [self](scan_atom, uint8_t table,
           const std::string& prefix) -> caf::result<std::vector<kv_entry>> {
      auto& st = self->state;
      if (!st.logic->serving_reads())
        return make_error(errc::runtime_error,
                          "GCS replica " + std::to_string(st.logic->id())
                            + " does not serve reads now");
      std::vector<kv_entry> result;
      for (auto& row : st.store->scan(table, prefix))
        result.push_back(kv_entry{std::move(row.key), std::move(row.value)});
      return result;
    },
  };
}

/// The replica as a broker: it runs in the middleman's I/O thread, which
/// receives and sends its messages, so that a batch passes no thread on its
/// way through the process (CAF runs brokers in the multiplexer).
template <class... Sigs>
caf::io::typed_broker<Sigs...> broker_of(caf::typed_actor<Sigs...>*);

using gcs_replica_broker_pointer
  = caf::stateful_actor<gcs_replica_state,
                        decltype(broker_of(
                          static_cast<gcs_replica_actor*>(nullptr)))>*;

gcs_replica_actor::behavior_type
gcs_replica_broker(gcs_replica_broker_pointer self, replica_id id,
                   std::shared_ptr<chain_store> store,
                   gcs_coordinator_actor coordinator,
                   gcs_replica_options options) {
  return replica_behavior(self, id, std::move(store), std::move(coordinator),
                          std::move(options));
}

} // namespace

gcs_replica_actor::behavior_type
gcs_replica(gcs_replica_pointer self, replica_id id,
            std::shared_ptr<chain_store> store,
            gcs_coordinator_actor coordinator, gcs_replica_options options) {
  return replica_behavior(self, id, std::move(store), std::move(coordinator),
                          std::move(options));
}

caf::expected<gcs_replica_actor>
spawn_gcs_replica(caf::actor_system& sys, replica_id id,
                  const std::string& directory, lmdb_options storage,
                  gcs_coordinator_actor coordinator,
                  gcs_replica_options options) {
  auto store = lmdb_chain_store::open(directory, storage);
  if (!store)
    return std::move(store.error());
  std::shared_ptr<chain_store> shared{std::move(*store)};
  if (options.detached)
    return sys.spawn<caf::detached>(gcs_replica, id, std::move(shared),
                                    std::move(coordinator), options);
  if (options.in_io_thread && sys.has_middleman())
    return sys.middleman().spawn_broker(gcs_replica_broker, id,
                                        std::move(shared),
                                        std::move(coordinator), options);
  return sys.spawn(gcs_replica, id, std::move(shared), std::move(coordinator),
                   options);
}

} // namespace cafray
