// caf-node status: how the cluster's nodes are shown.

#include <doctest/doctest.h>

#include <string>

#include "node/status.hpp"

using namespace cafray;

namespace {

node_status member(uint64_t id, bool head, uint16_t port, bool alive,
                   bool draining) {
  node_status n;
  n.member.id = node_id{id, id};
  n.member.host = "127.0.0.1";
  n.member.port = port;
  n.member.head = head;
  n.member.total = {{"CPU", 2000}};
  n.alive = alive;
  n.draining = draining;
  return n;
}

} // namespace

TEST_CASE("status shows a draining node as draining, and counts it alive") {
  cluster_status s;
  s.nodes = {member(1, true, 7400, true, false),
             member(2, false, 7401, true, true),
             member(3, false, 7402, false, false)};
  auto text = node::render_status("127.0.0.1:7400", s);
  auto first = text.substr(0, text.find('\n'));
  CHECK_EQ(first, "cluster at 127.0.0.1:7400: 3 nodes, 2 alive (1 draining)");
  CHECK_NE(text.find(" head 127.0.0.1:7400 alive CPU 0/2\n"),
           std::string::npos);
  CHECK_NE(text.find(" node 127.0.0.1:7401 draining CPU 0/2\n"),
           std::string::npos);
  CHECK_NE(text.find(" node 127.0.0.1:7402 dead CPU 0/2\n"),
           std::string::npos);
  // Nobody draining: the first line is as it always was.
  s.nodes[1].draining = false;
  text = node::render_status("127.0.0.1:7400", s);
  CHECK_EQ(text.substr(0, text.find('\n')),
           "cluster at 127.0.0.1:7400: 3 nodes, 2 alive");
}
