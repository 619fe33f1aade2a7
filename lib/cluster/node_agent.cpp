#include "cluster/node_agent.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cluster/connect.hpp"
#include "common/error.hpp"
#include "proto/guards.hpp"

namespace cafray {

node_agent_actor::behavior_type
node_agent(node_agent_actor::stateful_pointer<node_agent_state> self) {
  install_guards(self);
  return {
    [=](attach_atom,
        const std::string& version) -> caf::result<cluster_welcome> {
      if (version != protocol_version())
        return make_error(errc::version_mismatch,
                          "the node speaks '" + protocol_version()
                            + "', the worker '" + version + "'");
      auto& st = self->state;
      if (st.welcome)
        return *st.welcome;
      auto promise = self->make_response_promise<cluster_welcome>();
      st.early.push_back(promise);
      return promise;
    },
    [=](put_atom, cluster_welcome& welcome) {
      auto& st = self->state;
      st.welcome = std::move(welcome);
      for (auto& promise : st.early)
        promise.deliver(*st.welcome);
      st.early.clear();
    },
  };
}

node_agent_actor spawn_node_agent(caf::actor_system& sys) {
  return sys.spawn(node_agent);
}

} // namespace cafray
