#include "gcs/gcs_chain_shard.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>
#include <fmt/core.h>

#include "common/error.hpp"
#include "gcs/gcs_chain_client.hpp"
#include "gcs/gcs_coordinator.hpp"
#include "gcs/gcs_replica.hpp"
#include "storage/kv_store.hpp"

namespace cafray {

namespace {

using table_key = std::pair<uint8_t, std::string>;

/// A request to the client or a replica that outlives this is lost: the
/// client gives up on its own after its request timeout (10 s) first.
constexpr auto request_timeout = std::chrono::seconds{60};

/// How long a scan waits for one answer of the coordinator or the tail.
constexpr auto scan_step_timeout = std::chrono::seconds{1};

void log(gcs_chain_shard_pointer self, const std::string& what) {
  fmt::print(stderr, "[gcs_chain_shard {}] {}\n", self->id(), what);
}

caf::error check_table(uint8_t table) {
  if (table >= gcs_table_count)
    return make_error(errc::storage_error,
                      "no such GCS table: " + std::to_string(table));
  return caf::none;
}

caf::error check_write(uint8_t table, const std::string& key) {
  if (auto err = check_table(table))
    return err;
  if (key.empty() || key.size() > max_key_size)
    return make_error(errc::storage_error,
                      "GCS key size must be 1.." + std::to_string(max_key_size)
                        + " bytes, got " + std::to_string(key.size()));
  return caf::none;
}

/// Every write up to the result's predecessor is answered.
uint64_t low_water(const gcs_chain_shard_state& st) {
  return st.writes.empty() ? st.next_write + 1 : st.writes.begin()->first;
}

/// Runs `fun` once every write up to `number` is answered.
void when_written(gcs_chain_shard_pointer self, uint64_t number,
                  std::function<void()> fun) {
  auto& st = self->state;
  if (number < low_water(st)) {
    fun();
    return;
  }
  st.barriers.emplace(number, std::move(fun));
}

void run_barriers(gcs_chain_shard_pointer self) {
  auto& st = self->state;
  while (!st.barriers.empty()
         && st.barriers.begin()->first < low_water(st)) {
    auto fun = std::move(st.barriers.begin()->second);
    st.barriers.erase(st.barriers.begin());
    fun();
  }
}

/// The number a read of (table, key) waits for; 0 if nothing.
uint64_t pending_write_of(const gcs_chain_shard_state& st, uint8_t table,
                          const std::string& key) {
  auto i = st.last_write.find({table, key});
  return i != st.last_write.end() ? i->second : 0;
}

void notify(gcs_chain_shard_pointer self, uint8_t table,
            const std::string& key, const std::string& value) {
  auto subs = self->state.subscribers.find(table, key);
  if (subs == nullptr)
    return;
  for (auto& sub : *subs)
    caf::anon_send(sub, notify_atom_v, table, key, value);
}

/// Finishes write `number`: answers or logs it, notifies subscribers.
void on_written(gcs_chain_shard_pointer self, uint64_t number,
                const caf::error& err) {
  auto& st = self->state;
  auto i = st.writes.find(number);
  if (i == st.writes.end())
    return;
  auto& write = i->second;
  if (err) {
    if (write.answer)
      write.done.deliver(err);
    else
      log(self, "lost a batched write of table " + std::to_string(write.table)
                  + ": " + render(err));
  } else {
    if (!write.erase)
      notify(self, write.table, write.key, write.value);
    if (write.answer)
      write.done.deliver(ok_atom_v);
  }
  auto j = st.last_write.find({write.table, write.key});
  if (j != st.last_write.end() && j->second == number)
    st.last_write.erase(j);
  st.writes.erase(i);
}

void pump(gcs_chain_shard_pointer self);

void on_group_written(gcs_chain_shard_pointer self,
                      const std::vector<uint64_t>& numbers,
                      const caf::error& err) {
  auto& st = self->state;
  --st.in_flight;
  for (auto number : numbers)
    on_written(self, number, err);
  run_barriers(self);
  pump(self);
  if (st.closing && st.writes.empty())
    self->quit(st.exit_reason);
}

/// Hands the queued writes to the client in groups: each group is one
/// message to the head and one transaction on every replica.
void pump(gcs_chain_shard_pointer self) {
  auto& st = self->state;
  while (st.in_flight < st.options.max_in_flight && !st.queued.empty()) {
    std::vector<uint64_t> numbers;
    std::vector<wire::chain_write> rows;
    while (!st.queued.empty() && rows.size() < st.options.max_group_rows) {
      auto number = st.queued.front();
      st.queued.pop_front();
      auto i = st.writes.find(number);
      if (i == st.writes.end())
        continue;
      auto& write = i->second;
      numbers.push_back(number);
      rows.push_back(
        wire::chain_write{write.table, write.key, write.erase, write.value});
    }
    if (rows.empty())
      continue;
    ++st.in_flight;
    self->request(st.client, request_timeout, put_atom_v, std::move(rows))
      .then(
        [self, numbers](uint64_t) {
          on_group_written(self, numbers, caf::none);
        },
        [self, numbers](caf::error& err) {
          on_group_written(self, numbers, err);
        });
  }
}

uint64_t accept(gcs_chain_shard_pointer self, gcs_chain_shard_write write) {
  auto& st = self->state;
  auto number = ++st.next_write;
  st.last_write[{write.table, write.key}] = number;
  st.writes.emplace(number, std::move(write));
  st.queued.push_back(number);
  pump(self);
  return number;
}

/// Reads a row at the tail, through the client.
void read_row(gcs_chain_shard_pointer self, uint8_t table,
              const std::string& key,
              std::function<void(caf::expected<std::string>)> done) {
  self->request(self->state.client, request_timeout, get_atom_v, table, key)
    .then(
      [done](wire::chain_read_result& result) {
        if (result.found)
          done(std::move(result.value));
        else
          done(make_error(errc::not_found));
      },
      [done](caf::error& err) { done(std::move(err)); });
}

void arm_retry(gcs_chain_shard_pointer self) {
  auto& st = self->state;
  if (st.retry_armed)
    return;
  st.retry_armed = true;
  // Anonymous: a flush without a sender is the shard's own timer.
  caf::delayed_anon_send(caf::actor_cast<gcs_actor>(self),
                         st.options.scan_retry, caf::flush_atom_v);
}

struct scan_job {
  uint8_t table = 0;
  std::string prefix;
  caf::typed_response_promise<std::vector<kv_entry>> rp;
  std::chrono::steady_clock::time_point deadline;
};

void attempt_scan(gcs_chain_shard_pointer self, scan_job job);

void retry_scan(gcs_chain_shard_pointer self, scan_job job,
                const caf::error& why) {
  if (std::chrono::steady_clock::now() >= job.deadline) {
    job.rp.deliver(make_error(errc::timeout,
                              "GCS scan: no tail answered, last: "
                                + render(why)));
    return;
  }
  self->state.scan_retries.emplace_back(
    [self, job]() mutable { attempt_scan(self, std::move(job)); });
  arm_retry(self);
}

void attempt_scan(gcs_chain_shard_pointer self, scan_job job) {
  self->request(self->state.coordinator, scan_step_timeout, get_atom_v)
    .then(
      [self, job](wire::chain_configuration& config) mutable {
        if (config.members.empty() || !config.members.back().handle) {
          retry_scan(self, std::move(job),
                     make_error(errc::runtime_error, "no chain yet"));
          return;
        }
        self
          ->request(config.members.back().handle, scan_step_timeout,
                    scan_atom_v, job.table, job.prefix)
          .then(
            [job](std::vector<kv_entry>& rows) mutable {
              job.rp.deliver(std::move(rows));
            },
            [self, job](caf::error& err) mutable {
              retry_scan(self, std::move(job), err);
            });
      },
      [self, job](caf::error& err) mutable {
        retry_scan(self, std::move(job), err);
      });
}

void subscribe(gcs_chain_shard_pointer self, uint8_t table, std::string key,
               caf::actor sub) {
  auto& st = self->state;
  if (auto err = check_table(table)) {
    log(self, "ignored subscription: " + render(err));
    return;
  }
  if (!sub) {
    log(self, "ignored subscription of an invalid actor");
    return;
  }
  auto added = st.subscribers.add(table, key, sub);
  if (added == subscriber_table::added::already)
    return;
  if (added == subscriber_table::added::first)
    self->monitor(sub);
  // The current value, once the tail holds every write of the key this
  // shard accepted; later writes notify as the tail applies them.
  auto number = pending_write_of(st, table, key);
  when_written(self, number, [self, table, key, sub] {
    read_row(self, table, key,
             [table, key, sub](caf::expected<std::string> value) {
               if (value)
                 caf::anon_send(sub, notify_atom_v, table, key,
                                std::move(*value));
             });
  });
}

void drop_subscriber(gcs_chain_shard_pointer self, const caf::actor_addr& who) {
  self->state.subscribers.drop(who);
}

void install_handlers(gcs_chain_shard_pointer self) {
  self->set_error_handler([self](caf::error& err) {
    log(self, "error message: " + render(err));
  });
  self->set_down_handler(
    [self](caf::down_msg& msg) { drop_subscriber(self, msg.source); });
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& msg) -> caf::result<caf::message> {
      fmt::print(stderr, "[gcs_chain_shard {}] unexpected message: {}\n",
                 ptr->id(), caf::to_string(msg.copy_content_to_message()));
      // Answer only requests (CAF-NOTES pitfall 2).
      auto element = ptr->current_mailbox_element();
      if (element != nullptr && element->mid.is_request())
        return caf::sec::unexpected_message;
      return caf::delegated<caf::message>{};
    });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.reason)
      return;
    auto& st = self->state;
    if (st.writes.empty()) {
      self->quit(msg.reason);
      return;
    }
    // Accepted writes still reach the chain; the client gives up on them
    // after its request timeout at the latest.
    st.closing = true;
    st.exit_reason = std::move(msg.reason);
  });
}

} // namespace

gcs_actor::behavior_type
gcs_chain_shard(gcs_chain_shard_pointer self, gcs_chain_client_actor client,
                gcs_coordinator_actor coordinator,
                gcs_chain_shard_options options) {
  auto& st = self->state;
  st.client = std::move(client);
  st.coordinator = std::move(coordinator);
  st.options = options;
  install_handlers(self);
  return {
    [self](put_atom, uint8_t table, std::string& key,
           std::string& value) -> caf::result<ok_atom> {
      if (auto err = check_write(table, key))
        return err;
      gcs_chain_shard_write write;
      write.table = table;
      write.key = std::move(key);
      write.value = std::move(value);
      write.done = self->make_response_promise<ok_atom>();
      write.answer = true;
      auto result = write.done;
      accept(self, std::move(write));
      return result;
    },
    [self](put_atom, uint8_t table, std::vector<kv_entry>& rows) {
      if (auto err = check_table(table)) {
        log(self, "dropped a batch of " + std::to_string(rows.size())
                    + " rows: " + render(err));
        return;
      }
      for (auto& row : rows) {
        if (auto err = check_write(table, row.key)) {
          log(self, "dropped a row: " + render(err));
          continue;
        }
        gcs_chain_shard_write write;
        write.table = table;
        write.key = std::move(row.key);
        write.value = std::move(row.value);
        accept(self, std::move(write));
      }
    },
    [self](get_atom, uint8_t table,
           std::string& key) -> caf::result<std::string> {
      if (auto err = check_table(table))
        return err;
      auto rp = self->make_response_promise<std::string>();
      auto number = pending_write_of(self->state, table, key);
      when_written(self, number, [self, table, key, rp]() mutable {
        read_row(self, table, key,
                 [rp](caf::expected<std::string> value) mutable {
                   if (value)
                     rp.deliver(std::move(*value));
                   else
                     rp.deliver(std::move(value.error()));
                 });
      });
      return rp;
    },
    [self](scan_atom, uint8_t table,
           std::string& prefix) -> caf::result<std::vector<kv_entry>> {
      if (auto err = check_table(table))
        return err;
      scan_job job;
      job.table = table;
      job.prefix = std::move(prefix);
      job.rp = self->make_response_promise<std::vector<kv_entry>>();
      job.deadline = std::chrono::steady_clock::now()
                     + self->state.options.scan_timeout;
      auto result = job.rp;
      when_written(self, self->state.next_write, [self, job]() mutable {
        attempt_scan(self, std::move(job));
      });
      return result;
    },
    [self](delete_atom, uint8_t table,
           std::string& key) -> caf::result<ok_atom> {
      if (auto err = check_write(table, key))
        return err;
      gcs_chain_shard_write write;
      write.table = table;
      write.key = std::move(key);
      write.erase = true;
      write.done = self->make_response_promise<ok_atom>();
      write.answer = true;
      auto result = write.done;
      accept(self, std::move(write));
      return result;
    },
    [self](subscribe_atom, uint8_t table, std::string& key, caf::actor& sub) {
      subscribe(self, table, std::move(key), std::move(sub));
    },
    [self](flush_atom) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (!self->current_sender()) {
        // The retry timer.
        st.retry_armed = false;
        auto retries = std::move(st.scan_retries);
        st.scan_retries.clear();
        for (auto& fun : retries)
          fun();
        return caf::ok_atom_v;
      }
      auto rp = self->make_response_promise<ok_atom>();
      when_written(self, st.next_write,
                   [rp]() mutable { rp.deliver(caf::ok_atom_v); });
      return rp;
    },
  };
}

caf::expected<gcs_chain_parts>
spawn_gcs_chain_shard(caf::actor_system& sys, uint32_t index,
                      const std::string& directory, uint32_t replicas,
                      lmdb_options storage, gcs_chain_shard_options options) {
  if (replicas == 0)
    return make_error(errc::invalid_config, "a chain needs a replica");
  gcs_coordinator_options coordination;
  coordination.shard = index;
  for (uint32_t j = 1; j <= replicas; ++j)
    coordination.replicas.push_back(j);
  // Without a saved chain, replicas 1..R; with one, its members and, should
  // it be short, more under the smallest free ids.
  std::vector<replica_id> ids = coordination.replicas;
  coordination.state_file = directory + "/chain.state";
  // The replicas share the process's threads with the whole runtime (and
  // wait for fsync with a configured directory): a shorter lease takes
  // replicas that are only slow for dead. It bounds the stall after the
  // tail dies; other deaths are noticed at once (monitors).
  coordination.lease = std::chrono::milliseconds{1000};
  if (auto saved = load_chain_config(coordination.state_file)) {
    if (saved->replicas.size() > replicas
        || std::count(saved->replicas.begin(), saved->replicas.end(), 0) > 0)
      return make_error(errc::invalid_config,
                        coordination.state_file + " names "
                          + std::to_string(saved->replicas.size())
                          + " replicas, but gcs_replicas is "
                          + std::to_string(replicas));
    ids = saved->replicas;
    for (replica_id id = 1; ids.size() < replicas; ++id)
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        ids.push_back(id);
  }
  gcs_replica_options replica_options;
  replica_options.detached = storage.sync;
  auto replica_directory = [directory](replica_id id) {
    return directory + "/replica-" + std::to_string(id);
  };
  gcs_chain_parts result;
  result.replacements = std::make_shared<gcs_replacement_list>();
  coordination.spawn_replacement
    = [&sys, replica_directory, storage, replica_options,
       list = result.replacements](replica_id id,
                                   gcs_coordinator_actor coordinator) {
        // A directory left by an earlier replica of this id holds nothing
        // the replacement keeps: it installs the tail's state over it.
        auto replica = spawn_gcs_replica(sys, id, replica_directory(id),
                                         storage, std::move(coordinator),
                                         replica_options);
        if (!replica) {
          fmt::print(stderr, "[gcs_chain_shard] replica {}: {}\n", id,
                     render(replica.error()));
          return gcs_replica_actor{};
        }
        std::lock_guard<std::mutex> guard{list->mtx};
        list->replicas.push_back(*replica);
        return *replica;
      };
  result.coordinator = sys.spawn(gcs_coordinator, coordination);
  for (auto id : ids) {
    auto replica = spawn_gcs_replica(sys, id, replica_directory(id), storage,
                                     result.coordinator, replica_options);
    if (!replica) {
      for (auto& x : result.replicas)
        caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(result.coordinator,
                          caf::exit_reason::user_shutdown);
      return std::move(replica.error());
    }
    result.replicas.push_back(std::move(*replica));
  }
  result.client = sys.spawn(gcs_chain_client, result.coordinator,
                            gcs_chain_client_options{});
  result.shard = sys.spawn(gcs_chain_shard, result.client, result.coordinator,
                           options);
  return result;
}

} // namespace cafray
