#include "object_store/object_store.hpp"

#include <set>

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "proto/guards.hpp"
#include "proto/record_codec.hpp"

namespace cafray {

namespace {

using store_pointer = object_store_actor::stateful_pointer<object_store_state>;

bool is_infinite(caf::timespan t) {
  return t == caf::timespan::max() || t.count() < 0;
}

/// Delivers a completed request. `fresh` is the object sealed just now,
/// which the table may not keep if its owner released it already.
void complete(store_pointer self, uint64_t token, const object_id* fresh_id,
              const object_payload* fresh) {
  auto& st = self->state;
  auto i = st.pending.find(token);
  if (i == st.pending.end())
    return;
  auto entry = std::move(i->second);
  st.pending.erase(i);
  auto req = st.table.find_request(token);
  if (!req)
    return;
  auto lookup = [&](const object_id& id) -> object_payload {
    if (auto p = st.table.find(id))
      return *p;
    if (fresh_id && *fresh_id == id)
      return *fresh;
    return {};
  };
  switch (entry.kind) {
    case object_store_state::pending_request::get: {
      std::vector<object_payload> result;
      result.reserve(req->ids.size());
      for (auto& id : req->ids)
        result.emplace_back(lookup(id));
      entry.get_promise.deliver(std::move(result));
      break;
    }
    case object_store_state::pending_request::wait:
      entry.wait_promise.deliver(req->ready);
      break;
    case object_store_state::pending_request::subscribe:
      caf::anon_send(entry.listener, ready_atom_v, req->ids.front(),
                     lookup(req->ids.front()));
      break;
  }
  st.table.close(token);
}

void report(store_pointer self, const object_id& id,
            const object_payload& payload) {
  auto& st = self->state;
  if (st.gcs.empty()
      || (!st.cluster && payload.data.size() <= st.inline_threshold))
    return;
  object_record rec;
  rec.id = id;
  rec.size = payload.data.size();
  rec.locations.push_back(st.node);
  st.gcs.put_batch(gcs_table::objects,
                   {kv_entry{to_key(id), encode_record(rec)}});
}

/// `copy`: pulled from another node, which the GCS names already.
void seal(store_pointer self, const object_id& id,
          const object_payload& payload, bool copy = false) {
  auto& st = self->state;
  bool fresh = false;
  auto completed = st.table.seal(id, payload, &fresh);
  if (!fresh)
    return;
  if (!copy)
    report(self, id, payload);
  for (auto token : completed)
    complete(self, token, &id, &payload);
}

// -- cluster mode: objects held elsewhere --------------------------------------

constexpr auto pull_timeout = std::chrono::seconds{60};
constexpr auto pull_retry = std::chrono::milliseconds{100};

void pull(store_pointer self, const object_record& rec,
          bool transfer = true);

/// Starts bringing `id` here unless it is here or on its way: the GCS
/// names its holders (now, or once the object is created).
void fetch(store_pointer self, const object_id& id) {
  auto& st = self->state;
  if (!st.cluster || st.gcs.empty() || st.table.find(id)
      || !st.fetching.insert(id).second)
    return;
  auto key = to_key(id);
  caf::anon_send(st.gcs.shard_for(key), subscribe_atom_v,
                 static_cast<uint8_t>(gcs_table::objects), key,
                 caf::actor_cast<caf::actor>(self));
}

void fetch_missing(store_pointer self, const std::vector<object_id>& ids) {
  auto& st = self->state;
  if (!st.cluster)
    return;
  for (auto& id : ids)
    if (!st.table.find(id))
      fetch(self, id);
}

/// Pulls from the first live holder that is not this node: large objects
/// over the transfer path, the rest (and what that path failed to bring)
/// as a pull request.
void pull(store_pointer self, const object_record& rec, bool transfer) {
  auto& st = self->state;
  if (st.table.find(rec.id)) {
    st.fetching.erase(rec.id);
    return;
  }
  const store_peer* holder = nullptr;
  for (auto& loc : rec.locations) {
    if (loc == st.node)
      continue;
    auto i = st.peers.find(loc);
    if (i != st.peers.end() && i->second.store) {
      holder = &i->second;
      break;
    }
  }
  if (!holder) {
    // The holder joined but this store has not heard of it yet.
    st.unplaced[rec.id] = rec;
    return;
  }
  auto id = rec.id;
  if (!st.pulling.insert(id).second)
    return;
  if (transfer && st.puller && holder->transfer_port != 0
      && rec.size >= transfer_min_bytes) {
    st.transferring[id] = rec;
    auto buf = std::make_shared<blob::buffer>();
    auto me = caf::actor_cast<object_store_actor>(self);
    st.puller->pull(
      transfer_endpoint{holder->host, holder->transfer_port}, id,
      [buf](uint64_t size) -> caf::expected<char*> {
        buf->resize(size);
        return buf->data();
      },
      [buf, me, id](caf::expected<uint64_t> result) {
        uint8_t code = 0;
        if (!result)
          code = result.error().category() == error_category
                   ? result.error().code()
                   : static_cast<uint8_t>(errc::connection_lost);
        caf::anon_send(me, pull_atom_v, id,
                       code == 0 ? blob{std::shared_ptr<const blob::buffer>{
                         std::move(buf)}}
                                 : blob{},
                       code);
      });
    return;
  }
  self
    ->request(caf::actor_cast<object_store_actor>(holder->store),
              pull_timeout, pull_atom_v, id)
    .then(
      [=](object_payload& payload) {
        self->state.fetching.erase(id);
        self->state.pulling.erase(id);
        seal(self, id, payload, true);
      },
      [=](caf::error& err) {
        // The holder dropped it or went away: look again in a moment (the
        // GCS subscription still stands and names new holders).
        auto& st = self->state;
        st.fetching.erase(id);
        st.pulling.erase(id);
        if (st.table.pending_requests() > 0)
          caf::delayed_anon_send(self, pull_retry, fetch_atom_v,
                                 std::vector<object_id>{id});
      });
}

void connect_peer(store_pointer self, const store_peer& peer) {
  auto& st = self->state;
  if (peer.id == st.node || peer.port == 0 || peer.host.empty()
      || !self->system().has_middleman())
    return;
  auto endpoint = peer.host + ":" + std::to_string(peer.port);
  if (!st.connected.insert(endpoint).second)
    return;
  auto mm = self->system().middleman().actor_handle();
  self
    ->request(mm, std::chrono::seconds{5}, caf::connect_atom_v, peer.host,
              peer.port)
    .then([](const caf::node_id&, const caf::strong_actor_ptr&,
             const std::set<std::string>&) {},
          [=](const caf::error&) {
            self->state.connected.erase(endpoint);
          });
}

} // namespace

object_store_actor::behavior_type
object_store(store_pointer self, node_id node, gcs_router gcs,
             uint64_t inline_threshold,
             std::shared_ptr<local_objects> published, bool cluster,
             std::shared_ptr<transfer_client> puller) {
  if (published)
    self->state.table = object_table{std::move(published)};
  self->state.node = node;
  self->state.gcs = std::move(gcs);
  self->state.inline_threshold = inline_threshold;
  self->state.cluster = cluster;
  self->state.puller = std::move(puller);
  install_guards(self);
  return {
    [=](put_atom, const object_id& id, object_payload& payload) {
      seal(self, id, payload);
    },
    [=](put_atom, const std::vector<object_id>& ids,
        std::vector<object_payload>& payloads) {
      for (size_t i = 0; i < ids.size() && i < payloads.size(); ++i)
        seal(self, ids[i], payloads[i]);
    },
    [=](get_atom, std::vector<object_id>& ids, caf::timespan timeout)
      -> caf::result<std::vector<object_payload>> {
      auto& st = self->state;
      bool done = false;
      object_table::request req;
      auto token = st.table.open(std::move(ids), SIZE_MAX, done, &req);
      if (done) {
        std::vector<object_payload> result;
        result.reserve(req.ids.size());
        for (auto& id : req.ids)
          result.emplace_back(*st.table.find(id));
        return result;
      }
      if (st.cluster)
        fetch_missing(self, st.table.find_request(token)->ids);
      object_store_state::pending_request entry;
      entry.kind = object_store_state::pending_request::get;
      entry.get_promise = self->make_response_promise<
        std::vector<object_payload>>();
      auto promise = entry.get_promise;
      st.pending.emplace(token, std::move(entry));
      if (!is_infinite(timeout))
        caf::delayed_anon_send(self, timeout, timeout_atom_v, token);
      return promise;
    },
    [=](wait_atom, std::vector<object_id>& ids, uint64_t num_ready,
        caf::timespan timeout) -> caf::result<std::vector<uint8_t>> {
      auto& st = self->state;
      bool done = false;
      object_table::request req;
      auto token = st.table.open(std::move(ids), num_ready, done, &req);
      if (done)
        return req.ready;
      if (timeout.count() == 0) {
        auto result = st.table.find_request(token)->ready;
        st.table.close(token);
        return result;
      }
      if (st.cluster)
        fetch_missing(self, st.table.find_request(token)->ids);
      object_store_state::pending_request entry;
      entry.kind = object_store_state::pending_request::wait;
      entry.wait_promise = self->make_response_promise<std::vector<uint8_t>>();
      auto promise = entry.wait_promise;
      st.pending.emplace(token, std::move(entry));
      if (!is_infinite(timeout))
        caf::delayed_anon_send(self, timeout, timeout_atom_v, token);
      return promise;
    },
    [=](subscribe_atom, const object_id& id, object_listener_actor& listener) {
      auto& st = self->state;
      if (auto p = st.table.find(id)) {
        caf::anon_send(listener, ready_atom_v, id, *p);
        return;
      }
      // A producer on the node may seal it in the arena meanwhile.
      bool done = false;
      auto token = st.table.open({id}, 1, done);
      if (done) {
        if (auto p = st.table.find(id))
          caf::anon_send(listener, ready_atom_v, id, *p);
        return;
      }
      fetch(self, id);
      object_store_state::pending_request entry;
      entry.kind = object_store_state::pending_request::subscribe;
      entry.listener = std::move(listener);
      st.pending.emplace(token, std::move(entry));
    },
    [=](release_atom, const std::vector<object_id>& ids) {
      self->state.table.release(ids);
    },
    [=](timeout_atom, uint64_t token) {
      auto& st = self->state;
      auto i = st.pending.find(token);
      if (i == st.pending.end())
        return;
      auto entry = std::move(i->second);
      st.pending.erase(i);
      if (entry.kind == object_store_state::pending_request::get) {
        entry.get_promise.deliver(
          make_error(errc::timeout, "objects not ready in time"));
      } else if (entry.kind == object_store_state::pending_request::wait) {
        if (auto req = st.table.find_request(token))
          entry.wait_promise.deliver(req->ready);
      }
      st.table.close(token);
    },
    [=](stats_atom) {
      auto& st = self->state;
      return store_stats{st.table.size(), st.table.bytes(),
                         st.table.pending_requests()};
    },
    [=](members_atom, std::vector<store_peer>& peers) {
      auto& st = self->state;
      st.peers.clear();
      for (auto& peer : peers) {
        connect_peer(self, peer);
        if (peer.id != st.node)
          st.peers.emplace(peer.id, std::move(peer));
      }
      // Locations that named a node unknown until now.
      auto unplaced = std::move(st.unplaced);
      st.unplaced.clear();
      for (auto& [id, rec] : unplaced)
        pull(self, rec);
    },
    [=](fetch_atom, const std::vector<object_id>& ids) {
      fetch_missing(self, ids);
    },
    [=](pull_atom, const object_id& id, blob& bytes, uint8_t code) {
      auto& st = self->state;
      st.pulling.erase(id);
      auto i = st.transferring.find(id);
      if (i == st.transferring.end())
        return;
      auto rec = std::move(i->second);
      st.transferring.erase(i);
      if (code != 0) {
        // Failed values are not served over the transfer path; the holder
        // may also have gone: ask with a pull request.
        pull(self, rec, false);
        return;
      }
      st.fetching.erase(id);
      object_payload payload;
      payload.data = std::move(bytes);
      seal(self, id, payload, true);
    },
    [=](pull_atom, const object_id& id) -> caf::result<object_payload> {
      if (auto p = self->state.table.find(id))
        return *p;
      return make_error(errc::object_lost,
                        "object " + to_string(id) + " is not held here");
    },
    [=](notify_atom, uint8_t table, const std::string&,
        const std::string& value) {
      auto& st = self->state;
      if (table != static_cast<uint8_t>(gcs_table::objects))
        return;
      auto rec = decode_record<object_record>(value);
      if (!rec || !st.fetching.count(rec->id))
        return;
      pull(self, *rec);
    },
  };
}

object_store_actor
spawn_object_store(caf::actor_system& sys, node_id node, gcs_router gcs,
                   uint64_t inline_threshold,
                   std::shared_ptr<local_objects> published, bool cluster,
                   std::shared_ptr<transfer_client> puller) {
  return sys.spawn(object_store, node, std::move(gcs), inline_threshold,
                   std::move(published), cluster, std::move(puller));
}

} // namespace cafray
