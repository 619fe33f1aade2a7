#include "gcs/gcs_shard.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/core.h>

#include "common/error.hpp"

namespace cafray {

namespace {

using shard_pointer = gcs_actor::stateful_pointer<gcs_shard_state>;

void log(shard_pointer self, const std::string& what) {
  fmt::print(stderr, "[gcs_shard {}] {}\n", self->id(), what);
}

caf::error check_table(const gcs_shard_state& st, uint8_t table) {
  if (!st.store)
    return make_error(errc::storage_error, "GCS shard is closed");
  if (table >= st.store->table_count())
    return make_error(errc::storage_error,
                      "no such GCS table: " + std::to_string(table));
  return caf::none;
}

// Rejects a write before it joins the batch: one bad key must not fail the
// commit of everybody else's writes.
caf::error check_write(const gcs_shard_state& st, uint8_t table,
                       const std::string& key) {
  if (auto err = check_table(st, table))
    return err;
  if (key.empty() || key.size() > max_key_size)
    return make_error(errc::storage_error,
                      "GCS key size must be 1.." + std::to_string(max_key_size)
                        + " bytes, got " + std::to_string(key.size()));
  return caf::none;
}

// Commits the pending batch, then answers the acknowledged writes and
// notifies subscribers of every key written.
caf::error commit(shard_pointer self) {
  auto& st = self->state;
  if (st.pending.empty() && st.waiting.empty())
    return caf::none;
  auto batch = st.pending.take();
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  caf::error err;
  if (!st.store)
    err = make_error(errc::storage_error, "GCS shard is closed");
  else if (!batch.empty())
    err = st.store->apply(batch);
  if (err) {
    // The writes are lost; their writers learn it, fire-and-forget writers
    // only through this log line.
    log(self, "commit of " + std::to_string(batch.size())
                + " writes failed: " + render(err));
    for (auto& rp : waiting)
      rp.deliver(err);
    return err;
  }
  ++st.commits;
  for (auto& op : batch.ops()) {
    if (op.erase)
      continue;
    auto subs = st.subscribers.find(op.table, op.key);
    if (subs == nullptr)
      continue;
    for (auto& sub : *subs)
      caf::anon_send(sub, notify_atom_v, op.table, op.key, op.value);
  }
  for (auto& rp : waiting)
    rp.deliver(caf::ok_atom_v);
  return caf::none;
}

// Called after every accepted write: commits a full batch, otherwise makes
// sure a flush is on its way.
void after_write(shard_pointer self) {
  auto& st = self->state;
  if (st.options.flush_interval.count() == 0
      || st.pending.writes() >= st.options.max_batch_rows) {
    commit(self);
    return;
  }
  if (!st.flush_armed) {
    st.flush_armed = true;
    // The free function: the member version is not anonymous in 0.17.6, and
    // the flush reply must go nowhere (CAF-NOTES pitfall 2).
    caf::delayed_anon_send(caf::actor_cast<gcs_actor>(self),
                           st.options.flush_interval, caf::flush_atom_v);
  }
}

// The current value of a key, committed or not.
caf::expected<std::string> read(gcs_shard_state& st, uint8_t table,
                                const std::string& key) {
  const std::string* value = nullptr;
  switch (st.pending.lookup(table, key, value)) {
    case pending_writes::lookup_result::written:
      return *value;
    case pending_writes::lookup_result::erased:
      return make_error(errc::not_found);
    default:
      return st.store->get(table, key);
  }
}

void subscribe(shard_pointer self, uint8_t table, std::string key,
               caf::actor sub) {
  auto& st = self->state;
  if (auto err = check_table(st, table)) {
    log(self, "ignored subscription: " + render(err));
    return;
  }
  if (!sub) {
    log(self, "ignored subscription of an invalid actor");
    return;
  }
  if (st.subscribers.add(table, key, sub) == subscriber_table::added::first)
    self->monitor(sub);
  if (auto value = read(st, table, key))
    caf::anon_send(sub, notify_atom_v, table, std::move(key),
                   std::move(*value));
}

void drop_subscriber(shard_pointer self, const caf::actor_addr& who) {
  self->state.subscribers.drop(who);
}

} // namespace

gcs_actor::behavior_type gcs_shard(shard_pointer self,
                                   std::shared_ptr<kv_store> store,
                                   gcs_shard_options options) {
  auto& st = self->state;
  st.store = std::move(store);
  st.options = options;
  if (st.store)
    st.pending = pending_writes{st.store->table_count()};
  self->set_error_handler([self](caf::error& err) {
    log(self, "error message: " + render(err));
  });
  self->set_down_handler(
    [self](caf::down_msg& msg) { drop_subscriber(self, msg.source); });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_shard {}] unexpected message: {}\n", ptr->id(),
                 caf::to_string(msg.copy_content_to_message()));
      // Answer only requests: an answer to a plain send would bounce into
      // the sender's default handler (CAF-NOTES pitfall 2).
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Like CAF's default: a normal exit of a linked actor is no reason to go.
    if (!msg.reason)
      return;
    // Keep fire-and-forget writes that are still pending, and close LMDB
    // now rather than whenever the last handle to this actor disappears.
    commit(self);
    self->state.store.reset();
    self->quit(msg.reason);
  });
  return {
    [self](put_atom, uint8_t table, std::string& key,
           std::string& value) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (auto err = check_write(st, table, key))
        return err;
      auto rp = self->make_response_promise<ok_atom>();
      st.pending.put(table, std::move(key), std::move(value));
      st.waiting.push_back(rp);
      after_write(self);
      return rp;
    },
    [self](put_atom, uint8_t table, std::vector<kv_entry>& rows) {
      auto& st = self->state;
      if (auto err = check_table(st, table)) {
        log(self, "dropped a batch of " + std::to_string(rows.size())
                    + " rows: " + render(err));
        return;
      }
      for (auto& row : rows) {
        if (auto err = check_write(st, table, row.key)) {
          log(self, "dropped a row: " + render(err));
          continue;
        }
        st.pending.put(table, std::move(row.key), std::move(row.value));
      }
      after_write(self);
    },
    [self](get_atom, uint8_t table,
           const std::string& key) -> caf::result<std::string> {
      auto& st = self->state;
      if (auto err = check_table(st, table))
        return err;
      auto value = read(st, table, key);
      if (!value)
        return std::move(value.error());
      return std::move(*value);
    },
    [self](scan_atom, uint8_t table,
           const std::string& prefix) -> caf::result<std::vector<kv_entry>> {
      auto& st = self->state;
      if (auto err = check_table(st, table))
        return err;
      auto rows = st.store->scan(table, prefix);
      if (!rows)
        return std::move(rows.error());
      st.pending.overlay(table, prefix, *rows);
      return std::move(*rows);
    },
    [self](delete_atom, uint8_t table,
           std::string& key) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (auto err = check_write(st, table, key))
        return err;
      auto rp = self->make_response_promise<ok_atom>();
      st.pending.erase(table, std::move(key));
      st.waiting.push_back(rp);
      after_write(self);
      return rp;
    },
    [self](subscribe_atom, uint8_t table, std::string& key, caf::actor& sub) {
      subscribe(self, table, std::move(key), std::move(sub));
    },
    [self](flush_atom) -> caf::result<ok_atom> {
      // Our own timer is anonymous; a client's flush carries its sender.
      if (!self->current_sender())
        self->state.flush_armed = false;
      if (auto err = commit(self))
        return err;
      return caf::ok_atom_v;
    },
  };
}

caf::expected<gcs_actor> spawn_gcs_shard(caf::actor_system& sys,
                                         const std::string& directory,
                                         lmdb_options storage,
                                         gcs_shard_options options) {
  auto store = lmdb_kv_store::open(directory, storage);
  if (!store)
    return std::move(store.error());
  std::shared_ptr<kv_store> shared{std::move(*store)};
  return sys.spawn<caf::detached>(gcs_shard, std::move(shared), options);
}

} // namespace cafray
