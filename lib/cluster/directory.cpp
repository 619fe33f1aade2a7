#include "cluster/directory.hpp"

#include <chrono>
#include <map>
#include <memory>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "common/error.hpp"
#include "proto/guards.hpp"
#include "proto/record_codec.hpp"

namespace cafray {

namespace {

using dir_pointer
  = cluster_actor::stateful_pointer<cluster_directory_state>;

constexpr auto status_timeout = std::chrono::seconds{2};

int64_t wall_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

const char* state_name(uint8_t state) {
  switch (static_cast<actor_state>(state)) {
    case actor_state::pending:
      return "pending";
    case actor_state::alive:
      return "alive";
    case actor_state::dead:
      return "dead";
  }
  return "unknown";
}

std::string node_key(const node_id& id) {
  return to_key(task_id{id.hi, id.lo});
}

/// Writes a member's row of the GCS nodes table.
void record_node(dir_pointer self, const member_info& m, bool alive,
                 bool draining = false) {
  node_record rec;
  rec.id = m.id;
  rec.address = m.host + ":" + std::to_string(m.port);
  rec.total = m.total;
  rec.available = alive ? m.total : resource_map{};
  rec.alive = alive;
  rec.draining = alive && draining;
  rec.updated_ns = wall_ns();
  self->state.gcs.put_batch(gcs_table::nodes,
                            {kv_entry{node_key(m.id), encode_record(rec)}});
}

std::vector<member_info> live_members(dir_pointer self) {
  std::vector<member_info> result;
  for (auto& m : self->state.members)
    if (m.alive)
      result.push_back(m.info);
  return result;
}

/// Tells every live member's store and raylet who is in the cluster.
void broadcast(dir_pointer self) {
  auto members = live_members(self);
  std::vector<store_peer> peers;
  for (auto& m : members)
    peers.push_back(store_peer{m.id, m.host, m.port,
                               caf::actor_cast<caf::actor>(m.store),
                               m.transfer_port});
  auto count = static_cast<uint32_t>(members.size());
  for (auto& m : members) {
    caf::anon_send(m.store, members_atom_v, peers);
    caf::anon_send(m.raylet, members_atom_v, count);
  }
}

cluster_welcome welcome(dir_pointer self) {
  cluster_welcome result;
  result.gcs = self->state.gcs.shards();
  result.global = self->state.global;
  result.members = live_members(self);
  return result;
}

caf::error check_version(const std::string& version) {
  if (version == cluster_protocol_version)
    return {};
  return make_error(errc::version_mismatch,
                    "the head speaks '" + std::string{cluster_protocol_version}
                      + "', the peer '" + version + "'");
}

/// Collects one status answer per live member, then the actors' states.
struct status_round {
  caf::typed_response_promise<cluster_status> promise;
  cluster_status result;
  size_t outstanding = 0;
  bool delivered = false;
};

void finish(dir_pointer self, std::shared_ptr<status_round> round) {
  if (round->delivered || round->outstanding > 0)
    return;
  round->delivered = true;
  auto& shards = self->state.gcs.shards();
  if (shards.empty()) {
    round->promise.deliver(std::move(round->result));
    return;
  }
  // Actors by state, over every shard of the actors table.
  auto counts = std::make_shared<std::map<std::string, uint64_t>>();
  auto left = std::make_shared<size_t>(shards.size());
  auto done = [round, counts, left] {
    if (--*left > 0)
      return;
    for (auto& [state, n] : *counts)
      round->result.actors_by_state.push_back(
        kv_entry{state, std::to_string(n)});
    round->promise.deliver(std::move(round->result));
  };
  for (auto& shard : shards)
    self
      ->request(shard, status_timeout, scan_atom_v,
                static_cast<uint8_t>(gcs_table::actors), std::string{})
      .then(
        [counts, done](std::vector<kv_entry>& rows) {
          for (auto& row : rows)
            if (auto rec = decode_record<actor_record>(row.value))
              ++(*counts)[state_name(rec->state)];
          done();
        },
        [done](caf::error&) { done(); });
}

} // namespace

cluster_actor::behavior_type
cluster_directory(dir_pointer self, gcs_router gcs, scheduler_actor global) {
  self->state.gcs = std::move(gcs);
  self->state.global = std::move(global);
  install_guards(self);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& m : st.members) {
      if (m.alive && m.info.raylet.address() == msg.source) {
        m.alive = false;
        record_node(self, m.info, false);
        broadcast(self);
        return;
      }
    }
  });
  return {
    [=](join_atom, member_info& info,
        const std::string& version) -> caf::result<cluster_welcome> {
      if (auto err = check_version(version))
        return err;
      auto& st = self->state;
      bool known = false;
      for (auto& m : st.members)
        if (m.info.id == info.id) {
          m.info = info;
          m.alive = true;
          m.draining = false;
          known = true;
        }
      if (!known)
        st.members.push_back({info, true});
      self->monitor(info.raylet);
      record_node(self, info, true);
      broadcast(self);
      return welcome(self);
    },
    [=](attach_atom,
        const std::string& version) -> caf::result<cluster_welcome> {
      if (auto err = check_version(version))
        return err;
      return welcome(self);
    },
    [=](leave_atom, const node_id& id) {
      auto& st = self->state;
      for (auto& m : st.members)
        if (m.alive && m.info.id == id) {
          m.alive = false;
          self->demonitor(m.info.raylet.address());
          record_node(self, m.info, false);
          broadcast(self);
        }
    },
    [=](drain_atom, const node_id& id) {
      // The node stays a member (peers still pull its objects) until it
      // leaves; its raylet tells the global scheduler itself.
      for (auto& m : self->state.members)
        if (m.alive && m.info.id == id && !m.draining) {
          m.draining = true;
          record_node(self, m.info, true, true);
        }
    },
    [=](members_atom) { return live_members(self); },
    [=](status_atom) -> caf::result<cluster_status> {
      auto& st = self->state;
      auto round = std::make_shared<status_round>();
      round->promise = self->make_response_promise<cluster_status>();
      auto promise = round->promise;
      for (size_t i = 0; i < st.members.size(); ++i) {
        node_status ns;
        ns.member = st.members[i].info;
        ns.alive = st.members[i].alive;
        ns.draining = st.members[i].alive && st.members[i].draining;
        round->result.nodes.push_back(std::move(ns));
        if (!st.members[i].alive)
          continue;
        round->outstanding += 2;
        auto& m = st.members[i].info;
        self->request(m.raylet, status_timeout, stats_atom_v)
          .then(
            [=](load_report& rep) {
              round->result.nodes[i].load = std::move(rep);
              round->result.nodes[i].answered = true;
              --round->outstanding;
              finish(self, round);
            },
            [=](caf::error&) {
              --round->outstanding;
              finish(self, round);
            });
        self->request(m.store, status_timeout, stats_atom_v)
          .then(
            [=](store_stats& stats) {
              round->result.nodes[i].store = stats;
              --round->outstanding;
              finish(self, round);
            },
            [=](caf::error&) {
              --round->outstanding;
              finish(self, round);
            });
      }
      finish(self, round);
      return promise;
    },
    [=](timeout_atom, uint64_t) {
      // Status rounds time out per request.
    },
  };
}

cluster_actor spawn_cluster_directory(caf::actor_system& sys, gcs_router gcs,
                                      scheduler_actor global) {
  return sys.spawn(cluster_directory, std::move(gcs), std::move(global));
}

} // namespace cafray
