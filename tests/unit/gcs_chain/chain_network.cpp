#include "chain_network.hpp"

#include <stdexcept>

namespace cafray::test {

namespace {

chain_config initial_config(size_t replicas) {
  chain_config config;
  config.shard = 7;
  for (size_t i = 1; i <= replicas; ++i)
    config.replicas.push_back(i);
  return config;
}

} // namespace

chain_network::chain_network(size_t replicas, uint64_t seed,
                             chain_clock::duration lease, store_factory stores)
  : rng_(seed),
    stores_(std::move(stores)),
    coordinator_(initial_config(replicas), lease, [this] { return now_; }) {
  for (size_t i = 0; i < replicas; ++i)
    add_replica();
  post(coordinator_.start());
  run();
  heartbeat_all();
  run();
}

chain_replica& chain_network::replica(replica_id id) {
  return *nodes_.at(id)->replica;
}

memory_chain_store& chain_network::store(replica_id id) {
  auto result = dynamic_cast<memory_chain_store*>(nodes_.at(id)->store.get());
  if (result == nullptr)
    throw std::logic_error("chain_network::store: not a memory store");
  return *result;
}

chain_store& chain_network::any_store(replica_id id) {
  return *nodes_.at(id)->store;
}

std::unique_ptr<chain_store> chain_network::open_store(replica_id id) {
  if (stores_)
    return stores_(id);
  return std::make_unique<memory_chain_store>();
}

replica_id chain_network::add_replica() {
  auto id = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  auto fresh = std::make_unique<node>();
  fresh->store = open_store(id);
  fresh->replica = std::make_unique<chain_replica>(id, *fresh->store,
                                                   [this] { return now_; });
  nodes_.emplace(id, std::move(fresh));
  return id;
}

void chain_network::restart_all() {
  links_.clear();
  held_.clear();
  paused_.clear();
  for (auto& [id, ptr] : nodes_) {
    if (killed_.count(id) > 0)
      continue;
    ptr->replica.reset();
    if (stores_) {
      ptr->store.reset();
      ptr->store = stores_(id);
    }
    ptr->replica = std::make_unique<chain_replica>(id, *ptr->store,
                                                   [this] { return now_; });
  }
  auto config = coordinator_.config();
  config.epoch += 1;
  coordinator_ = chain_coordinator(std::move(config), coordinator_.lease(),
                                   [this] { return now_; });
  post(coordinator_.start());
  run();
  heartbeat_all();
  run();
}

void chain_network::kill(replica_id id, bool lose_in_flight) {
  killed_.insert(id);
  paused_.erase(id);
  if (lose_in_flight)
    for (auto& [key, queue] : links_)
      if (key.first == rep(id))
        queue.clear();
}

void chain_network::pause(replica_id id) {
  paused_.insert(id);
}

void chain_network::resume(replica_id id) {
  paused_.erase(id);
}

std::vector<replica_id> chain_network::alive() const {
  std::vector<replica_id> result;
  for (auto& [id, ptr] : nodes_)
    if (killed_.count(id) == 0)
      result.push_back(id);
  return result;
}

std::vector<replica_id> chain_network::live_members() const {
  std::vector<replica_id> result;
  for (auto id : coordinator_.config().replicas)
    if (killed_.count(id) == 0)
      result.push_back(id);
  return result;
}

void chain_network::post(chain_outbox out) {
  for (auto& envelope : out) {
    // A paused or dead replica sends nothing.
    if (envelope.from.kind == chain_address::replica
        && (killed_.count(envelope.from.id) > 0
            || paused_.count(envelope.from.id) > 0))
      continue;
    auto key = link{envelope.from, envelope.to};
    links_[key].push_back(std::move(envelope));
  }
}

chain_repair chain_network::apply(chain_reconfiguration change) {
  post(std::move(change.messages));
  return change.repair;
}

bool chain_network::deliverable(const link& key) const {
  if (held_.count(key) > 0)
    return false;
  auto& to = key.second;
  return !(to.kind == chain_address::replica && paused_.count(to.id) > 0);
}

bool chain_network::deliver_one() {
  std::vector<link> ready;
  for (auto& [key, queue] : links_)
    if (!queue.empty() && deliverable(key))
      ready.push_back(key);
  if (ready.empty())
    return false;
  auto pick = std::uniform_int_distribution<size_t>{0, ready.size() - 1}(rng_);
  auto& queue = links_[ready[pick]];
  auto envelope = std::move(queue.front());
  queue.pop_front();
  dispatch(std::move(envelope));
  return true;
}

size_t chain_network::run(size_t limit) {
  size_t count = 0;
  while (count < limit && deliver_one())
    ++count;
  if (count == limit)
    throw std::runtime_error("chain_network::run: no quiescence");
  return count;
}

size_t chain_network::deliver(const chain_address& from,
                              const chain_address& to, size_t count) {
  auto i = links_.find(link{from, to});
  size_t done = 0;
  while (i != links_.end() && done < count && !i->second.empty()) {
    auto envelope = std::move(i->second.front());
    i->second.pop_front();
    dispatch(std::move(envelope));
    ++done;
  }
  return done;
}

size_t chain_network::pending(const chain_address& from,
                              const chain_address& to) const {
  auto i = links_.find(link{from, to});
  return i == links_.end() ? 0 : i->second.size();
}

void chain_network::hold(const chain_address& from, const chain_address& to) {
  held_.insert(link{from, to});
}

void chain_network::release(const chain_address& from,
                            const chain_address& to) {
  held_.erase(link{from, to});
}

void chain_network::heartbeat_all() {
  for (auto id : alive())
    if (paused_.count(id) == 0)
      post(replica(id).heartbeat());
}

void chain_network::outlive_leases() {
  advance(coordinator_.lease() + 1ms);
  heartbeat_all();
  run();
}

void chain_network::dispatch(chain_envelope envelope) {
  auto index = delivered_.size();
  delivered_.push_back({index, envelope});
  auto& to = envelope.to;
  switch (to.kind) {
  case chain_address::replica:
    if (killed_.count(to.id) == 0)
      post(replica(to.id).receive(envelope.from, envelope.payload));
    break;
  case chain_address::coordinator:
    post(coordinator_.receive(envelope.from, envelope.payload));
    break;
  case chain_address::client:
    if (auto ack = std::get_if<chain_write_ack>(&envelope.payload))
      acks_.emplace(std::pair{to.id, ack->request},
                    std::pair{envelope.from.id, *ack});
    to_clients_.push_back({index, std::move(envelope)});
    break;
  }
}

uint64_t chain_network::write(chain_client_id client, const std::string& key,
                              std::optional<std::string> value) {
  auto request = ++next_request_[client];
  writes_[client][request] = sent_write{key, std::move(value)};
  retry_write(client, request);
  return request;
}

void chain_network::retry_write(chain_client_id client, uint64_t request) {
  auto& config = coordinator_.config();
  if (config.empty())
    return;
  auto& sent = writes_[client].at(request);
  // Every request not acknowledged yet is still pending.
  uint64_t oldest = next_request_[client] + 1;
  for (auto& [number, ignored] : writes_[client])
    if (!acked(client, number)) {
      oldest = number;
      break;
    }
  chain_write_request msg;
  msg.epoch = config.epoch;
  msg.request = request;
  msg.oldest_pending = oldest;
  msg.write = chain_write{0, sent.key, sent.value};
  post({{cli(client), rep(config.head()), std::move(msg)}});
}

uint64_t chain_network::read(chain_client_id client, const std::string& key,
                             std::optional<replica_id> to,
                             std::optional<chain_epoch> epoch) {
  auto& config = coordinator_.config();
  auto request = ++next_request_[client];
  chain_read_request msg;
  msg.epoch = epoch ? *epoch : config.epoch;
  msg.request = request;
  msg.key = key;
  post({{cli(client), rep(to ? *to : config.tail()), std::move(msg)}});
  return request;
}

std::optional<std::pair<replica_id, chain_write_ack>>
chain_network::acked(chain_client_id client, uint64_t request) const {
  auto i = acks_.find(std::pair{client, request});
  if (i == acks_.end())
    return std::nullopt;
  return i->second;
}

std::optional<delivery> chain_network::answer(chain_client_id client,
                                              uint64_t request) const {
  for (auto& x : to_clients_) {
    if (x.envelope.to != cli(client))
      continue;
    auto& msg = x.envelope.payload;
    if (auto reply = std::get_if<chain_read_reply>(&msg);
        reply && reply->request == request)
      return x;
    if (auto refused = std::get_if<chain_refused>(&msg);
        refused && refused->request == request)
      return x;
  }
  return std::nullopt;
}

} // namespace cafray::test
