// placement: the global scheduler's policy without actors.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "scheduler/placement.hpp"

using namespace cafray;

namespace {

const node_id node_a{1, 1};
const node_id node_b{2, 2};
const node_id node_c{3, 3};

task_spec make_task(uint64_t n, resource_map demand) {
  task_spec spec;
  spec.id = task_id{4, n};
  spec.resources = std::move(demand);
  return spec;
}

load_report report(node_id node, resource_map total, resource_map available,
                   uint64_t queued) {
  load_report rep;
  rep.node = node;
  rep.total = std::move(total);
  rep.available = std::move(available);
  rep.queued = queued;
  return rep;
}

} // namespace

TEST_CASE("no nodes: nothing is feasible") {
  placement p;
  CHECK_FALSE(p.choose({}).has_value());
  CHECK_FALSE(p.choose({{"CPU", 1000}}).has_value());
}

TEST_CASE("choose picks only among nodes whose capacity covers the demand") {
  placement p;
  p.add_node(node_a, {{"CPU", 8000}});
  p.add_node(node_b, {{"CPU", 1000}, {"GPU", 1000}});
  for (int i = 0; i < 5; ++i)
    CHECK(p.choose({{"GPU", 1000}}) == node_b);
  CHECK(p.choose({{"CPU", 8000}}) == node_a);
  CHECK_FALSE(p.choose({{"GPU", 2000}}).has_value());
  CHECK_FALSE(p.choose({{"TPU", 1}}).has_value());
  // Zero amounts demand nothing.
  CHECK(p.choose({{"TPU", 0}, {"GPU", 1}}) == node_b);
}

TEST_CASE("choose spreads by free CPU per queued or placed task") {
  placement p;
  p.add_node(node_a, {{"CPU", 1000}});
  p.add_node(node_b, {{"CPU", 4000}});
  // Scores (CPU + 1000) / (1 + queued + placed): a 2000, b 5000 -> b;
  // b 2500 -> b; b 1666 < a 2000 -> a; a 1000 < b 1666 -> b.
  std::vector<node_id> picks;
  for (int i = 0; i < 4; ++i)
    picks.push_back(*p.choose({{"CPU", 1000}}));
  CHECK(picks == std::vector<node_id>{node_b, node_b, node_a, node_b});
}

TEST_CASE("a load report replaces the node's load and resets its placements") {
  placement p;
  p.add_node(node_a, {{"CPU", 1000}});
  p.add_node(node_b, {{"CPU", 4000}});
  CHECK(p.choose({{"CPU", 1000}}) == node_b);
  // b is busy: 0 free CPU, 9 queued -> 1000 / 10 = 100 < a's 2000 / 1.
  p.update(report(node_b, {{"CPU", 4000}}, {{"CPU", 0}}, 9));
  CHECK(p.choose({{"CPU", 1000}}) == node_a);
  // A report of an unknown node is ignored.
  p.update(report(node_c, {{"CPU", 64000}}, {{"CPU", 64000}}, 0));
  CHECK(p.choose({{"CPU", 1000}}) == node_a);
  // A report can change the total too.
  p.update(report(node_a, {{"CPU", 1000}, {"GPU", 1000}}, {{"CPU", 0}}, 0));
  CHECK(p.choose({{"GPU", 1000}}) == node_a);
}

TEST_CASE("infeasible tasks are held until a node with the resource joins") {
  placement p;
  p.add_node(node_a, {{"CPU", 1000}});
  CHECK_FALSE(p.choose({{"GPU", 1000}}).has_value());
  p.hold(make_task(1, {{"GPU", 1000}}));
  p.hold(make_task(2, {{"TPU", 1000}}));
  p.hold(make_task(3, {{"GPU", 500}}));
  CHECK_EQ(p.held(), 3u);
  CHECK(p.release_feasible().empty());
  CHECK_EQ(p.held(), 3u);
  p.add_node(node_b, {{"CPU", 1000}, {"GPU", 1000}});
  auto released = p.release_feasible();
  REQUIRE_EQ(released.size(), 2u);
  CHECK(released[0].first == node_b);
  CHECK(released[0].second.id == (task_id{4, 1}));
  CHECK(released[1].first == node_b);
  CHECK(released[1].second.id == (task_id{4, 3}));
  CHECK_EQ(p.held(), 1u);
  p.add_node(node_c, {{"TPU", 1000}});
  auto rest = p.release_feasible();
  REQUIRE_EQ(rest.size(), 1u);
  CHECK(rest[0].first == node_c);
  CHECK(rest[0].second.id == (task_id{4, 2}));
  CHECK_EQ(p.held(), 0u);
}

TEST_CASE("remove_node makes its resources infeasible again") {
  placement p;
  p.add_node(node_a, {{"CPU", 1000}});
  p.add_node(node_b, {{"GPU", 1000}});
  CHECK(p.choose({{"GPU", 1000}}) == node_b);
  p.remove_node(node_b);
  CHECK_FALSE(p.choose({{"GPU", 1000}}).has_value());
  CHECK(p.choose({{"CPU", 1000}}) == node_a);
  p.remove_node(node_a);
  p.remove_node(node_a);
  CHECK_FALSE(p.choose({}).has_value());
}

TEST_CASE("add_node of a known node refreshes its capacity") {
  placement p;
  p.add_node(node_a, {{"CPU", 1000}});
  p.add_node(node_a, {{"GPU", 1000}});
  CHECK(p.choose({{"GPU", 1000}}) == node_a);
  CHECK_FALSE(p.choose({{"CPU", 1000}}).has_value());
}

TEST_CASE("an actor goes to a node whose custom resources are free") {
  placement p;
  p.add_node(node_a, {{"CPU", 8000}});
  p.add_node(node_b, {{"CPU", 1000}, {"special", 1000}});
  p.add_node(node_c, {{"CPU", 1000}, {"special", 1000}});
  CHECK_FALSE(p.choose_for_actor({{"GPU", 1000}}).has_value());
  auto first = p.choose_for_actor({{"special", 1000}});
  REQUIRE(first.has_value());
  CHECK((*first == node_b || *first == node_c));
  // The first one's special is taken until its node reports again.
  auto second = p.choose_for_actor({{"special", 1000}});
  REQUIRE(second.has_value());
  CHECK(*second != *first);
  // Both taken: one of them anyway (the actor waits there).
  auto third = p.choose_for_actor({{"special", 1000}});
  REQUIRE(third.has_value());
  CHECK(*third != node_a);
  // A report frees node c's again.
  p.update(report(node_c, {{"CPU", 1000}, {"special", 1000}},
                  {{"CPU", 1000}, {"special", 1000}}, 0));
  CHECK(p.choose_for_actor({{"special", 1000}}) == node_c);
  // An actor demanding nothing may go anywhere.
  CHECK(p.choose_for_actor({}).has_value());
}
