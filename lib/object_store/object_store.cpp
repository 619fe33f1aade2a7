#include "object_store/object_store.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "common/parallel_copy.hpp"
#include "proto/guards.hpp"
#include "proto/record_codec.hpp"

namespace cafray {

namespace {

using store_pointer = object_store_actor::stateful_pointer<object_store_state>;

bool is_infinite(caf::timespan t) {
  return t == caf::timespan::max() || t.count() < 0;
}

// -- the node's shared-memory arena ----------------------------------------

/// Whether `bytes` lie in the arena; sets `offset` if so.
bool in_arena(const object_store_state& st, const blob& bytes,
              uint64_t& offset) {
  if (!st.arena || bytes.empty())
    return false;
  auto base = st.arena->base();
  if (bytes.data() < base || bytes.data() >= base + st.arena->capacity())
    return false;
  offset = static_cast<uint64_t>(bytes.data() - base);
  return true;
}

/// A large value that came with its bytes (a message, a pull request) goes
/// into the arena, so the processes of the node read it in place. It stays
/// where it is when the arena has no room for it.
void move_into_arena(object_store_state& st, object_payload& payload) {
  uint64_t offset = 0;
  if (!st.arena || payload.failed()
      || payload.data.size() <= st.inline_threshold
      || in_arena(st, payload.data, offset))
    return;
  auto size = payload.data.size();
  auto region = st.arena->allocate(size);
  if (!region)
    return;
  parallel_copy(st.arena->at(*region), payload.data.data(), size);
  payload.data = arena_blob(st.arena, *region, size,
                            hold_region(st.arena, *region));
}

/// A get's payloads for an arena client: what lies in the arena goes as its
/// place, pinned for the client.
arena_objects place(object_store_state& st, uint64_t client,
                    const std::vector<object_id>& ids,
                    std::vector<object_payload> payloads) {
  arena_objects result;
  result.offsets.resize(payloads.size(), arena_objects::no_offset);
  result.sizes.resize(payloads.size(), 0);
  for (size_t i = 0; i < payloads.size() && i < ids.size(); ++i) {
    auto& p = payloads[i];
    uint64_t offset = 0;
    if (p.failed() || !in_arena(st, p.data, offset)
        || !st.pins.pin(client, ids[i], p.data.keepalive()))
      continue;
    result.offsets[i] = offset;
    result.sizes[i] = p.data.size();
    p.data = blob{};
  }
  result.payloads = std::move(payloads);
  return result;
}

object_payload too_large_payload(const object_id& id, uint64_t size,
                                 uint64_t capacity) {
  object_payload p;
  p.error_code = static_cast<uint8_t>(errc::object_too_large);
  p.error.code = p.error_code;
  p.error.task = id.task;
  p.error.function = "object store";
  p.error.message = "object " + to_string(id) + " (" + std::to_string(size)
                    + " bytes) does not fit in the node's object store ("
                    + std::to_string(capacity) + " bytes)";
  p.error.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return p;
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
    case object_store_state::pending_request::arena_get: {
      std::vector<object_payload> result;
      result.reserve(req->ids.size());
      for (auto& id : req->ids)
        result.emplace_back(lookup(id));
      entry.arena_promise.deliver(
        place(st, entry.client, req->ids, std::move(result)));
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

/// Records the object's location in the GCS: now, or in `rows` (which the
/// caller writes as one batch).
void report(store_pointer self, const object_id& id,
            const object_payload& payload,
            std::vector<kv_entry>* rows = nullptr) {
  auto& st = self->state;
  if (st.gcs.empty()
      || (!st.cluster && payload.data.size() <= st.inline_threshold))
    return;
  object_record rec;
  rec.id = id;
  rec.size = payload.data.size();
  rec.locations.push_back(st.node);
  kv_entry row{to_key(id), encode_record(rec)};
  if (rows) {
    rows->emplace_back(std::move(row));
    return;
  }
  st.gcs.put_batch(gcs_table::objects, {std::move(row)});
}

/// `copy`: pulled from another node, which the GCS names already. With
/// `rows`, the location goes there instead of to the GCS at once.
void seal(store_pointer self, const object_id& id, object_payload payload,
          bool copy = false, std::vector<kv_entry>* rows = nullptr) {
  auto& st = self->state;
  // A producer on the node may have sealed it in place already.
  if (st.arena && !st.table.contains(id))
    move_into_arena(st, payload);
  bool fresh = false;
  auto completed = st.table.seal(id, payload, &fresh);
  if (fresh && !copy)
    report(self, id, payload, rows);
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

/// Brings the missing objects of an open request: a cluster's store fetches
/// them from other nodes. In embedded mode the node's producers publish
/// small objects final (`local_objects::publish`) without telling the
/// store, so the request watches the arena for them instead; the watch
/// hands each one to the store as a put, which completes the request.
void await_missing(store_pointer self, uint64_t token) {
  auto& st = self->state;
  auto req = st.table.find_request(token);
  if (!req)
    return;
  if (st.cluster) {
    fetch_missing(self, req->ids);
    return;
  }
  auto& arena = st.table.storage();
  if (!arena->publishes_final())
    return;
  std::vector<object_id> ids;
  for (size_t k = 0; k < req->ids.size(); ++k)
    if (!req->ready[k])
      ids.push_back(req->ids[k]);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (!st.request_watch) {
    auto store = self->address();
    st.request_watch = std::make_shared<forwarding_watch>(
      arena, [store](const object_id& id, object_payload payload) {
        if (auto hdl = caf::actor_cast<object_store_actor>(store))
          caf::anon_send(hdl, put_atom_v, id, std::move(payload));
      });
  }
  arena->watch(ids, st.request_watch);
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
    // With an arena, the pulled bytes land in it directly.
    struct landing {
      std::shared_ptr<const void> region;
      uint64_t offset = 0;
      uint64_t size = 0;
    };
    auto slot = std::make_shared<landing>();
    auto arena = st.arena;
    auto me = caf::actor_cast<object_store_actor>(self);
    st.puller->pull(
      transfer_endpoint{holder->host, holder->transfer_port}, id,
      [buf, slot, arena, id](uint64_t size) -> caf::expected<char*> {
        if (!arena) {
          buf->resize(size);
          return buf->data();
        }
        auto offset = arena->allocate(size);
        if (!offset)
          return make_error(errc::object_too_large,
                            "object " + to_string(id) + " does not fit");
        slot->region = hold_region(arena, *offset);
        slot->offset = *offset;
        slot->size = size;
        return arena->at(*offset);
      },
      [buf, slot, arena, me, id](caf::expected<uint64_t> result) {
        uint8_t code = 0;
        if (!result)
          code = result.error().category() == error_category
                   ? result.error().code()
                   : static_cast<uint8_t>(errc::connection_lost);
        blob bytes;
        if (code == 0 && slot->region)
          bytes = arena_blob(arena, slot->offset, slot->size,
                             std::move(slot->region));
        else if (code == 0)
          bytes = blob{std::shared_ptr<const blob::buffer>{std::move(buf)}};
        slot->region = nullptr;
        caf::anon_send(me, pull_atom_v, id, std::move(bytes), code);
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
             std::shared_ptr<transfer_client> puller,
             std::shared_ptr<shm_arena> arena) {
  if (published)
    self->state.table = object_table{std::move(published)};
  self->state.node = node;
  self->state.gcs = std::move(gcs);
  self->state.inline_threshold = inline_threshold;
  self->state.cluster = cluster;
  self->state.puller = std::move(puller);
  self->state.arena = std::move(arena);
  install_guards(self);
  // A process mapping the arena went (stopped or died): its pins and
  // unsealed regions go with it.
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.clients.find(msg.source);
    if (i == st.clients.end())
      return;
    st.pins.drop_client(i->second);
    st.clients.erase(i);
  });
  return {
    [=](put_atom, const object_id& id, object_payload& payload) {
      seal(self, id, payload);
    },
    [=](put_atom, const std::vector<object_id>& ids,
        std::vector<object_payload>& payloads) {
      // A worker's batch of results: their locations go to the GCS as one
      // write, not one message each.
      std::vector<kv_entry> rows;
      for (size_t i = 0; i < ids.size() && i < payloads.size(); ++i)
        seal(self, ids[i], payloads[i], false, &rows);
      self->state.gcs.put_batch(gcs_table::objects, std::move(rows));
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
      await_missing(self, token);
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
      await_missing(self, token);
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
      await_missing(self, token);
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
      } else if (entry.kind
                 == object_store_state::pending_request::arena_get) {
        entry.arena_promise.deliver(
          make_error(errc::timeout, "objects not ready in time"));
      } else if (entry.kind == object_store_state::pending_request::wait) {
        if (auto req = st.table.find_request(token))
          entry.wait_promise.deliver(req->ready);
      }
      st.table.close(token);
    },
    [=](stats_atom) {
      auto& st = self->state;
      store_stats result{st.table.size(), st.table.bytes(),
                         st.table.pending_requests()};
      if (st.arena) {
        auto usage = st.arena->usage();
        result.arena_capacity = usage.capacity;
        result.arena_used = usage.used;
        result.arena_pins = st.pins.total_pins();
      }
      return result;
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
      if (code == static_cast<uint8_t>(errc::object_too_large)) {
        // Readers here get the typed error; the holder keeps the object.
        st.fetching.erase(id);
        seal(self, id,
             too_large_payload(id, rec.size,
                               st.arena ? st.arena->capacity() : 0),
             true);
        return;
      }
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
    [=](attach_atom, const caf::actor& client) -> caf::result<arena_info> {
      auto& st = self->state;
      if (!st.arena || !client)
        return make_error(errc::not_found,
                          "this object store has no shared-memory arena");
      auto& number = st.clients[client.address()];
      if (number == 0) {
        number = st.pins.add_client();
        self->monitor(client);
      }
      return arena_info{st.arena->name(), st.arena->capacity(), number};
    },
    [=](get_atom, uint64_t client, std::vector<object_id>& ids,
        caf::timespan timeout) -> caf::result<arena_objects> {
      auto& st = self->state;
      bool done = false;
      object_table::request req;
      auto token = st.table.open(std::move(ids), SIZE_MAX, done, &req);
      if (done) {
        std::vector<object_payload> result;
        result.reserve(req.ids.size());
        for (auto& id : req.ids)
          result.emplace_back(*st.table.find(id));
        return place(st, client, req.ids, std::move(result));
      }
      await_missing(self, token);
      object_store_state::pending_request entry;
      entry.kind = object_store_state::pending_request::arena_get;
      entry.client = client;
      entry.arena_promise = self->make_response_promise<arena_objects>();
      auto promise = entry.arena_promise;
      st.pending.emplace(token, std::move(entry));
      if (!is_infinite(timeout))
        caf::delayed_anon_send(self, timeout, timeout_atom_v, token);
      return promise;
    },
    [=](allocate_atom, uint64_t client, const object_id& id,
        uint64_t size) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (!st.arena || !st.pins.has_client(client))
        return make_error(errc::not_found, "not attached to the arena");
      auto offset = st.arena->allocate(size);
      if (!offset) {
        auto usage = st.arena->usage();
        return make_error(errc::object_too_large,
                          "object " + to_string(id) + " ("
                            + std::to_string(size)
                            + " bytes) does not fit in the node's object "
                              "store ("
                            + std::to_string(usage.capacity)
                            + " bytes, largest free region "
                            + std::to_string(usage.largest_free) + ")");
      }
      st.pins.reserve(client, *offset, hold_region(st.arena, *offset));
      return *offset;
    },
    [=](seal_atom, uint64_t client, const object_id& id, uint64_t offset,
        uint64_t size) {
      auto& st = self->state;
      auto region = st.pins.take_reservation(client, offset);
      if (!region || size > st.arena->region_size(offset))
        return;
      object_payload payload;
      payload.data = arena_blob(st.arena, offset, size, std::move(region));
      // The writer's own copy reads the region until it unpins.
      st.pins.pin(client, id, payload.data.keepalive());
      seal(self, id, std::move(payload));
    },
    [=](unpin_atom, uint64_t client, const std::vector<object_id>& ids) {
      auto& st = self->state;
      for (auto& id : ids)
        st.pins.unpin(client, id);
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
                   std::shared_ptr<transfer_client> puller,
                   std::shared_ptr<shm_arena> arena) {
  // Alone, the store reports no small object anywhere: their producers may
  // publish them final, and it never needs to hear of them.
  if (published && !cluster)
    published->publish_final_up_to(inline_threshold);
  return sys.spawn(object_store, node, std::move(gcs), inline_threshold,
                   std::move(published), cluster, std::move(puller),
                   std::move(arena));
}

namespace {

/// Frees its region when the last copy of the pointer goes.
class region_hold {
public:
  region_hold(std::shared_ptr<shm_arena> arena, uint64_t offset)
    : arena_(std::move(arena)), offset_(offset) {
  }

  region_hold(const region_hold&) = delete;
  region_hold& operator=(const region_hold&) = delete;

  ~region_hold() {
    arena_->free(offset_);
  }

private:
  std::shared_ptr<shm_arena> arena_;
  uint64_t offset_;
};

} // namespace

std::shared_ptr<const void> hold_region(std::shared_ptr<shm_arena> arena,
                                        uint64_t offset) {
  return std::make_shared<const region_hold>(std::move(arena), offset);
}

uint64_t default_arena_capacity() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return uint64_t{1} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 10 * 3;
}

} // namespace cafray
