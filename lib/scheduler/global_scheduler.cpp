#include "scheduler/global_scheduler.hpp"

#include <map>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "common/error.hpp"
#include "proto/guards.hpp"

namespace cafray {

namespace {

using gs_pointer
  = scheduler_actor::stateful_pointer<global_scheduler_state>;

void place(gs_pointer self, const node_id& node, task_spec spec) {
  auto& st = self->state;
  caf::actor owner;
  if (!st.owners.empty())
    if (auto j = st.owners.find(spec.id); j != st.owners.end()) {
      owner = std::move(j->second);
      st.owners.erase(j);
    }
  auto i = st.raylets.find(node);
  if (i == st.raylets.end())
    return;
  if (owner)
    caf::anon_send(i->second, place_atom_v, std::move(spec), std::move(owner));
  else
    caf::anon_send(i->second, place_atom_v, std::move(spec));
}

void spill(gs_pointer self, task_spec& spec) {
  auto& st = self->state;
  if (auto node = st.policy.choose(spec.resources))
    place(self, *node, std::move(spec));
  else
    st.policy.hold(std::move(spec));
}

/// Places a raylet's batch of spilled tasks: one place message per chosen
/// node, the tasks in their spilled order; tasks no node can run are held
/// (with their owner, if any) like single spills.
void spill_batch(gs_pointer self, std::vector<task_spec>& specs,
                 const caf::actor& owner) {
  auto& st = self->state;
  std::map<node_id, std::vector<task_spec>> placed;
  for (auto& spec : specs) {
    if (auto node = st.policy.choose(spec.resources)) {
      placed[*node].emplace_back(std::move(spec));
      continue;
    }
    if (owner)
      st.owners.emplace(spec.id, owner);
    st.policy.hold(std::move(spec));
  }
  for (auto& [node, batch] : placed)
    if (auto i = st.raylets.find(node); i != st.raylets.end())
      caf::anon_send(i->second, place_atom_v, std::move(batch), owner);
}

void retry_held(gs_pointer self) {
  for (auto& [node, spec] : self->state.policy.release_feasible())
    place(self, node, std::move(spec));
}

} // namespace

scheduler_actor::behavior_type global_scheduler(gs_pointer self) {
  install_guards(self);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto i = st.raylets.begin(); i != st.raylets.end(); ++i) {
      if (i->second.address() == msg.source) {
        st.policy.remove_node(i->first);
        st.raylets.erase(i);
        return;
      }
    }
  });
  return {
    [=](register_atom, const node_id& node, raylet_actor& raylet,
        resource_map& total) {
      auto& st = self->state;
      self->monitor(raylet);
      st.raylets[node] = std::move(raylet);
      st.policy.add_node(node, std::move(total));
      retry_held(self);
    },
    [=](heartbeat_atom, const load_report& report) {
      self->state.policy.update(report);
    },
    [=](spill_atom, task_spec& spec) { spill(self, spec); },
    [=](spill_atom, task_spec& spec, caf::actor& owner) {
      if (owner)
        self->state.owners.emplace(spec.id, std::move(owner));
      spill(self, spec);
    },
    [=](spill_atom, std::vector<task_spec>& specs, const caf::actor& owner) {
      spill_batch(self, specs, owner);
    },
    [=](place_actor_atom, task_spec& spec) -> caf::result<actor_location> {
      auto& st = self->state;
      auto node = st.policy.choose_for_actor(spec.resources);
      auto i = node ? st.raylets.find(*node) : st.raylets.end();
      if (i == st.raylets.end())
        return make_error(errc::infeasible,
                          "no node offers the resources of actor "
                            + spec.function);
      // The chosen raylet answers the creator itself.
      return self->delegate(i->second, place_actor_atom_v, std::move(spec));
    },
    [=](drain_atom, const node_id& node) {
      // The raylet stays known (place messages already on their way still
      // reach it, and it passes them back), but it is no candidate.
      self->state.policy.remove_node(node);
    },
    [=](stats_atom) { return static_cast<uint64_t>(self->state.policy.held()); },
  };
}

scheduler_actor spawn_global_scheduler(caf::actor_system& sys) {
  return sys.spawn(global_scheduler);
}

} // namespace cafray
