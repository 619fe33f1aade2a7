#include "gcs/chain_replica.hpp"

#include <algorithm>

namespace cafray {

namespace {

/// Heartbeats whose lease has not come back yet; older ones are forgotten.
constexpr size_t max_open_heartbeats = 32;

} // namespace

chain_replica::chain_replica(replica_id self, chain_store& store,
                             clock_function clock)
  : self_(self), store_(store), clock_(std::move(clock)) {
  // After a restart the log holds what the chain may not have acknowledged:
  // it goes to the successor again with the first configuration.
  last_ = store_.last_applied();
  auto durable = store_.recover();
  acked_ = std::min(durable.trimmed, last_);
  acked_up_ = acked_;
  client_acked_ = acked_;
  for (auto& entry : durable.log)
    if (entry.seq > acked_ && entry.seq <= last_)
      append_to_log(std::move(entry));
}

bool chain_replica::is_head() const noexcept {
  return member_ && !retired_ && config_.head() == self_;
}

bool chain_replica::is_tail() const noexcept {
  return member_ && !retired_ && config_.tail() == self_;
}

bool chain_replica::lease_valid() const {
  return lease_until_ && clock_() < *lease_until_;
}

bool chain_replica::serving_reads() const {
  return is_tail() && caught_up_ && lease_valid();
}

std::vector<chain_seq> chain_replica::unacked() const {
  std::vector<chain_seq> result;
  for (auto i = log_after(acked_); i != log_.end(); ++i)
    result.push_back(i->seq);
  return result;
}

std::deque<chain_entry>::const_iterator
chain_replica::log_after(chain_seq seq) const {
  if (log_.empty() || seq < log_.front().seq)
    return log_.begin();
  auto offset = seq - log_.front().seq + 1;
  return offset >= log_.size() ? log_.end()
                               : log_.begin() + static_cast<ptrdiff_t>(offset);
}

void chain_replica::append_to_log(chain_entry&& entry) {
  if (!log_.empty() && entry.seq != log_.back().seq + 1)
    log_.clear();
  log_.push_back(std::move(entry));
}

chain_outbox chain_replica::receive(const chain_address& from,
                                    chain_payload msg) {
  chain_outbox out;
  if (retired_) {
    // Clients learn why; everyone else hears nothing.
    if (auto x = std::get_if<chain_write_request>(&msg))
      reply(from, chain_refused{x->request, chain_refusal::retired, epoch()},
            out);
    else if (auto x = std::get_if<chain_read_request>(&msg))
      reply(from, chain_refused{x->request, chain_refusal::retired, epoch()},
            out);
    return out;
  }
  auto from_replica = [&](std::optional<replica_id> expected) {
    return from.kind == chain_address::replica && expected
           && from.id == *expected;
  };
  auto from_coordinator = from.kind == chain_address::coordinator;
  if (auto x = std::get_if<chain_write_request>(&msg)) {
    on_writes(from, x, 1, out);
  } else if (auto x = std::get_if<chain_read_request>(&msg)) {
    on_read(from, *x, out);
  } else if (auto x = std::get_if<chain_forward>(&msg)) {
    if (admit(x->epoch, from, msg) && from_replica(config_.predecessor(self_)))
      on_forward(*x, out);
  } else if (auto x = std::get_if<chain_ack>(&msg)) {
    if (admit(x->epoch, from, msg) && from_replica(config_.successor(self_)))
      on_ack(*x, out);
  } else if (auto x = std::get_if<chain_sync>(&msg)) {
    if (admit(x->epoch, from, msg)
        && from_replica(config_.predecessor(self_))) {
      on_sync(*x, out);
      // The new predecessor learns at once how far the chain below got.
      if (acked_ > 0) {
        send(from.id, chain_ack{epoch(), acked_}, out);
        acked_up_ = acked_;
      }
    }
  } else if (auto x = std::get_if<chain_snapshot_transfer>(&msg)) {
    if (from.kind == chain_address::replica)
      on_snapshot(*x, out);
  } else if (!from_coordinator) {
    // Only the coordinator sends the remaining kinds.
  } else if (auto x = std::get_if<chain_install>(&msg)) {
    on_install(x->config, out);
  } else if (auto x = std::get_if<chain_lease>(&msg)) {
    on_lease(*x, out);
  } else if (auto x = std::get_if<chain_snapshot_request>(&msg)) {
    if (admit(x->epoch, from, msg))
      on_snapshot_request(*x, out);
  } else if (auto x = std::get_if<chain_cancel_join>(&msg)) {
    if (join_ && join_->attempt == x->attempt) {
      join_.reset();
      if (is_tail())
        settle(out);
    }
  } else if (std::holds_alternative<chain_retire>(msg)) {
    retired_ = true;
    deferred_.clear();
  }
  return out;
}

void chain_replica::write_rows() {
  if (!store_.apply_pending())
    retired_ = true;
}

chain_outbox chain_replica::heartbeat() {
  chain_outbox out;
  if (retired_)
    return out;
  auto number = ++next_heartbeat_;
  heartbeats_.emplace(number, clock_());
  if (heartbeats_.size() > max_open_heartbeats)
    heartbeats_.erase(heartbeats_.begin());
  out.push_back({chain_address::of_replica(self_),
                 chain_address::of_coordinator(),
                 chain_heartbeat{self_, epoch(), number}});
  // What a tail held back goes up now, however little it is.
  if (is_tail())
    ack_up(true, out);
  return out;
}

bool chain_replica::admit(chain_epoch msg_epoch, const chain_address& from,
                          const chain_payload& msg) {
  if (msg_epoch < config_.epoch)
    return false;
  if (msg_epoch > config_.epoch) {
    deferred_.emplace_back(from, msg);
    return false;
  }
  return member_;
}

std::optional<chain_refusal>
chain_replica::refuse_client(chain_epoch msg_epoch) const {
  if (!member_)
    return chain_refusal::stale_replica;
  if (msg_epoch < config_.epoch)
    return chain_refusal::stale_request;
  if (msg_epoch > config_.epoch)
    return chain_refusal::stale_replica;
  return std::nullopt;
}

chain_outbox
chain_replica::receive_writes(const chain_address& from,
                              const std::vector<chain_write_request>& msgs) {
  chain_outbox out;
  if (retired_) {
    for (auto& msg : msgs)
      reply(from, chain_refused{msg.request, chain_refusal::retired, epoch()},
            out);
    return out;
  }
  auto copy = msgs;
  on_writes(from, copy.data(), copy.size(), out);
  return out;
}

chain_outbox chain_replica::receive_writes(client_writes batches) {
  chain_outbox out;
  if (retired_) {
    for (auto& [from, msgs] : batches)
      for (auto& msg : msgs)
        reply(from,
              chain_refused{msg.request, chain_refusal::retired, epoch()},
              out);
    return out;
  }
  std::vector<chain_entry> entries;
  std::vector<ordered_request> ordered;
  for (auto& [from, msgs] : batches)
    order_writes(from, msgs.data(), msgs.size(), entries, ordered, out);
  apply_ordered(std::move(entries), ordered, out);
  return out;
}

void chain_replica::on_writes(const chain_address& from,
                              chain_write_request* msgs, size_t count,
                              chain_outbox& out) {
  std::vector<chain_entry> entries;
  std::vector<ordered_request> ordered;
  order_writes(from, msgs, count, entries, ordered, out);
  apply_ordered(std::move(entries), ordered, out);
}

void chain_replica::order_writes(const chain_address& from,
                                 chain_write_request* msgs, size_t count,
                                 std::vector<chain_entry>& entries,
                                 std::vector<ordered_request>& ordered,
                                 chain_outbox& out) {
  auto& clients = store_.clients();
  auto record = clients.find(from.id);
  for (size_t index = 0; index < count; ++index) {
    auto& msg = msgs[index];
    auto why = refuse_client(msg.epoch);
    if (!why && !is_head())
      why = chain_refusal::not_head;
    if (!why && !store_.accepts(msg.write))
      why = chain_refusal::invalid;
    if (why) {
      reply(from, chain_refused{msg.request, *why, epoch()}, out);
      continue;
    }
    if (record != clients.end()) {
      // Below oldest_pending the client already has its answer.
      if (msg.request < record->second.oldest_pending)
        continue;
      auto& applied = record->second.applied;
      if (auto known = applied.find(msg.request); known != applied.end()) {
        // A retry: answer it if the tail has the write, else the tail will.
        if (known->second <= acked_ && lease_valid())
          reply(from, chain_write_ack{msg.request, known->second}, out);
        continue;
      }
    }
    auto twice = std::find_if(entries.begin(), entries.end(),
                              [&](const chain_entry& x) {
                                return x.client == from.id
                                       && x.request == msg.request;
                              });
    if (twice != entries.end())
      continue;
    chain_entry entry;
    entry.seq = last_ + 1 + entries.size();
    entry.client = from.id;
    entry.request = msg.request;
    entry.oldest_pending = msg.oldest_pending;
    entry.write = std::move(msg.write);
    entries.push_back(std::move(entry));
    ordered.emplace_back(from, msg.request);
  }
}

void chain_replica::apply_ordered(std::vector<chain_entry> entries,
                                  const std::vector<ordered_request>& ordered,
                                  chain_outbox& out) {
  if (entries.empty())
    return;
  if (accept(std::move(entries), out) == accept_result::full)
    for (auto& [from, request] : ordered)
      reply(from, chain_refused{request, chain_refusal::full, epoch()}, out);
}

void chain_replica::on_read(const chain_address& from,
                            const chain_read_request& msg, chain_outbox& out) {
  auto why = refuse_client(msg.epoch);
  if (!why && !is_tail())
    why = chain_refusal::not_tail;
  if (!why && !caught_up_)
    why = chain_refusal::not_ready;
  if (!why && !lease_valid())
    why = chain_refusal::no_lease;
  if (why) {
    reply(from, chain_refused{msg.request, *why, epoch()}, out);
    return;
  }
  reply(from,
        chain_read_reply{msg.request, last_, store_.read(msg.table, msg.key)},
        out);
}

void chain_replica::on_forward(chain_forward& msg, chain_outbox& out) {
  accept(std::move(msg.entries), out);
}

chain_replica::accept_result
chain_replica::accept(std::vector<chain_entry> entries, chain_outbox& out) {
  std::vector<chain_entry> batch;
  batch.reserve(entries.size());
  auto expected = [&] { return last_ + 1 + batch.size(); };
  for (auto& entry : entries) {
    if (entry.seq < expected())
      continue; // applied before: a duplicate
    if (entry.seq == expected())
      batch.push_back(std::move(entry));
    else
      held_.emplace(entry.seq, std::move(entry));
  }
  while (!held_.empty() && held_.begin()->first <= expected()) {
    auto node = held_.extract(held_.begin());
    if (node.key() == expected())
      batch.push_back(std::move(node.mapped()));
  }
  if (batch.empty())
    return accept_result::applied;
  if (!store_.apply(batch)) {
    // At the head, a store at its maximum size refuses the new writes and
    // nothing else happens: its successors hold no more than it does.
    if (store_.full() && is_head())
      return accept_result::full;
    // Anything else (a broken disk): stop, so that the coordinator replaces
    // this replica once its heartbeats stop.
    retired_ = true;
    return accept_result::failed;
  }
  last_ = batch.back().seq;
  if (auto next = config_.successor(self_))
    send(*next, chain_forward{epoch(), batch}, out);
  for (auto& entry : batch)
    append_to_log(std::move(entry));
  if (is_tail())
    settle(out);
  if (ready_at_ && last_ >= *ready_at_)
    catch_up(out);
  return accept_result::applied;
}

void chain_replica::settle(chain_outbox& out) {
  if (!lease_valid())
    return;
  for (auto i = log_after(client_acked_); i != log_.end(); ++i)
    reply(chain_address::of_client(i->client),
          chain_write_ack{i->request, i->seq}, out);
  client_acked_ = std::max(client_acked_, last_);
  // While a replacement copies the state, the predecessor keeps every write
  // after the snapshot: should this tail die, it resends them.
  auto up = join_ ? std::min(join_->floor, last_) : last_;
  if (up > acked_) {
    acked_ = up;
    ack_up(acked_ - acked_up_ >= ack_every_, out);
  }
  trim_log();
}

void chain_replica::ack_up(bool now, chain_outbox& out) {
  if (!now || acked_ <= acked_up_)
    return;
  if (auto prev = config_.predecessor(self_))
    send(*prev, chain_ack{epoch(), acked_}, out);
  acked_up_ = acked_;
}

void chain_replica::trim_log() {
  auto upto = std::min(acked_, client_acked_);
  log_.erase(log_.begin(), log_after(upto));
  store_.trim(upto);
}

void chain_replica::on_ack(const chain_ack& msg, chain_outbox& out) {
  auto seq = std::min(msg.seq, last_);
  if (seq <= acked_)
    return;
  acked_ = seq;
  client_acked_ = std::max(client_acked_, acked_);
  trim_log();
  // Whatever the tail held back, the rest of the chain relays at once.
  ack_up(true, out);
}

void chain_replica::on_sync(const chain_sync& msg, chain_outbox& out) {
  if (msg.upto <= last_)
    catch_up(out);
  else
    ready_at_ = msg.upto;
}

void chain_replica::catch_up(chain_outbox& out) {
  ready_at_.reset();
  if (caught_up_)
    return;
  caught_up_ = true;
  if (waiting_snapshot_) {
    auto request = std::move(*waiting_snapshot_);
    waiting_snapshot_.reset();
    if (request.epoch == epoch())
      on_snapshot_request(request, out);
  }
}

void chain_replica::on_install(const chain_config& next, chain_outbox& out) {
  if (next.epoch <= config_.epoch)
    return;
  if (!next.contains(self_)) {
    retired_ = true;
    deferred_.clear();
    return;
  }
  config_ = next;
  member_ = true;
  // Held writes came from the old predecessor; the new one resends.
  held_.clear();
  if (join_ && !is_tail())
    join_.reset();
  // The successor drops whatever of the old epoch is still on its way, and
  // a new successor may lack anything not yet acknowledged: resend it all.
  if (auto successor = config_.successor(self_)) {
    chain_forward resend{epoch(), {}};
    resend.entries.assign(log_after(acked_), log_.cend());
    if (!resend.entries.empty())
      send(*successor, std::move(resend), out);
    send(*successor, chain_sync{epoch(), last_}, out);
  }
  // A promoted replica holds everything its old successors held, so only a
  // replacement has to catch up, which it does as a tail.
  if (is_tail())
    settle(out);
  if (!lease_valid()) {
    auto beat = heartbeat();
    out.insert(out.end(), beat.begin(), beat.end());
  }
  auto waiting = std::move(deferred_);
  deferred_.clear();
  for (auto& [from, msg] : waiting) {
    auto more = receive(from, msg);
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
  }
}

void chain_replica::on_lease(const chain_lease& msg, chain_outbox& out) {
  auto i = heartbeats_.find(msg.number);
  if (i == heartbeats_.end())
    return;
  // Measured from sending the heartbeat, which came before the grant: the
  // lease runs out here no later than the coordinator believes.
  auto until = i->second + msg.duration;
  if (!lease_until_ || until > *lease_until_)
    lease_until_ = until;
  heartbeats_.erase(heartbeats_.begin(), std::next(i));
  if (is_tail())
    settle(out);
}

void chain_replica::on_snapshot_request(const chain_snapshot_request& msg,
                                        chain_outbox& out) {
  if (!is_tail())
    return;
  if (!caught_up_) {
    // The snapshot would miss writes the old tail acknowledged.
    waiting_snapshot_ = msg;
    return;
  }
  chain_snapshot_transfer transfer;
  transfer.attempt = msg.attempt;
  transfer.snapshot.seq = last_;
  transfer.snapshot.rows = store_.rows();
  transfer.snapshot.clients = store_.clients();
  join_ = pending_join{msg.joiner, msg.attempt, last_};
  send(msg.joiner, std::move(transfer), out);
  settle(out);
}

void chain_replica::on_snapshot(const chain_snapshot_transfer& msg,
                                chain_outbox& out) {
  if (member_ || msg.attempt < snapshot_attempt_)
    return;
  if (!store_.restore(msg.snapshot)) {
    retired_ = true;
    return;
  }
  last_ = msg.snapshot.seq;
  acked_ = last_;
  acked_up_ = last_;
  client_acked_ = last_;
  log_.clear();
  held_.clear();
  caught_up_ = false;
  snapshot_attempt_ = msg.attempt;
  out.push_back({chain_address::of_replica(self_),
                 chain_address::of_coordinator(),
                 chain_joined{self_, msg.attempt, last_}});
}

void chain_replica::send(replica_id to, chain_payload msg,
                         chain_outbox& out) const {
  out.push_back({chain_address::of_replica(self_),
                 chain_address::of_replica(to), std::move(msg)});
}

void chain_replica::reply(const chain_address& to, chain_payload msg,
                          chain_outbox& out) const {
  out.push_back({chain_address::of_replica(self_), to, std::move(msg)});
}

} // namespace cafray
