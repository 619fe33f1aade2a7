#include "checker.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>

namespace cafray::lincheck {

namespace {

/// The register's value: an index into the key's distinct values, or
/// `absent`.
using value_id = int32_t;
constexpr value_id absent = -1;

/// One operation as the search sees it.
struct step {
  const operation* op = nullptr;
  op_kind kind = op_kind::read;
  value_id value = absent;
};

/// An invocation or a completion in the doubly linked list of events.
struct event {
  size_t step = 0;
  bool call = false;
  event* match = nullptr; // a call's completion
  event* prev = nullptr;
  event* next = nullptr;
};

/// Which steps are linearized, as a key of the memo.
struct linearized {
  std::vector<uint64_t> words;
  value_id value = absent;

  void flip(size_t i) {
    words[i / 64] ^= uint64_t{1} << (i % 64);
  }

  friend bool operator==(const linearized& x, const linearized& y) {
    return x.value == y.value && x.words == y.words;
  }
};

struct linearized_hash {
  size_t operator()(const linearized& x) const noexcept {
    uint64_t hash = static_cast<uint64_t>(x.value) * 0x9e3779b97f4a7c15ull;
    for (auto word : x.words)
      hash = (hash ^ word) * 0x100000001b3ull + (hash >> 29);
    return static_cast<size_t>(hash);
  }
};

/// Takes the call and its completion out of the list.
void lift(event* call) {
  call->prev->next = call->next;
  call->next->prev = call->prev;
  auto done = call->match;
  done->prev->next = done->next;
  if (done->next)
    done->next->prev = done->prev;
}

/// Undoes `lift`.
void unlift(event* call) {
  auto done = call->match;
  done->prev->next = done;
  if (done->next)
    done->next->prev = done;
  call->prev->next = call;
  call->next->prev = call;
}

/// The operations that constrain the search. A failed operation took no
/// effect and an unanswered read says nothing. An unanswered write may take
/// effect after everything else, where it changes no answer, so it matters
/// only if some read returned its value.
std::vector<step> relevant_steps(const std::vector<operation>& ops,
                                 std::map<std::string, value_id>& values) {
  std::set<std::string> read_values;
  for (auto& op : ops)
    if (op.kind == op_kind::read && op.result == outcome::ok && op.value)
      read_values.insert(*op.value);
  std::vector<step> result;
  for (auto& op : ops) {
    if (op.result == outcome::failed)
      continue;
    if (op.result == outcome::unknown
        && (op.kind == op_kind::read || read_values.count(*op.value) == 0))
      continue;
    step s;
    s.op = &op;
    s.kind = op.kind;
    if (op.value)
      s.value = values.emplace(*op.value, static_cast<value_id>(values.size()))
                    .first->second;
    result.push_back(s);
  }
  return result;
}

/// Builds the event list in time order; a call comes before a completion at
/// the same time, so that touching operations count as concurrent.
std::vector<event> make_events(const std::vector<step>& steps) {
  constexpr auto never = std::numeric_limits<int64_t>::max();
  struct timed {
    int64_t time;
    bool done;
    size_t step;
  };
  std::vector<timed> order;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto op = steps[i].op;
    order.push_back({op->invoke, false, i});
    order.push_back(
        {op->result == outcome::ok ? op->complete : never, true, i});
  }
  std::sort(order.begin(), order.end(), [](const timed& x, const timed& y) {
    if (x.time != y.time)
      return x.time < y.time;
    if (x.done != y.done)
      return !x.done;
    return x.step < y.step;
  });
  // events[0] is the list's head.
  std::vector<event> events(order.size() + 1);
  std::vector<event*> calls(steps.size());
  for (size_t i = 0; i < order.size(); ++i) {
    auto& e = events[i + 1];
    e.step = order[i].step;
    e.call = !order[i].done;
    e.prev = &events[i];
    events[i].next = &e;
    if (e.call)
      calls[e.step] = &e;
    else
      calls[e.step]->match = &e;
  }
  return events;
}

std::string explain(const std::vector<step>& steps,
                    const std::vector<size_t>& best_order, size_t stuck) {
  constexpr size_t shown = 12;
  std::string text = "longest linearizable order found ("
                     + std::to_string(best_order.size()) + " of "
                     + std::to_string(steps.size()) + " operations";
  auto first = best_order.size() > shown ? best_order.size() - shown : 0;
  text += first > 0 ? ", last " + std::to_string(shown) + "):\n" : "):\n";
  for (auto i = first; i < best_order.size(); ++i)
    text += "  " + describe(*steps[best_order[i]].op) + "\n";
  text += "after it, no order takes effect in time for:\n  "
          + describe(*steps[stuck].op);
  return text;
}

} // namespace

check_result check_key(const std::string& key,
                       const std::vector<operation>& ops,
                       const check_options& options) {
  check_result result;
  result.keys = 1;
  result.operations = ops.size();
  std::map<std::string, value_id> values;
  auto steps = relevant_steps(ops, values);
  if (steps.empty())
    return result;
  auto events = make_events(steps);
  auto head = &events[0];
  linearized current{std::vector<uint64_t>((steps.size() + 63) / 64), absent};
  std::unordered_set<linearized, linearized_hash> seen;
  std::vector<std::pair<event*, value_id>> stack;
  std::vector<size_t> best_order;
  size_t stuck = 0;
  auto e = head->next;
  while (head->next != nullptr) {
    if (e->call) {
      auto& s = steps[e->step];
      auto allowed = s.kind == op_kind::write || s.value == current.value;
      if (allowed) {
        auto before = current.value;
        current.flip(e->step);
        current.value = s.kind == op_kind::write ? s.value : before;
        if (seen.insert(current).second) {
          if (seen.size() > options.max_states) {
            result.result = verdict::inconclusive;
            result.key = key;
            result.explanation = "gave up after "
                                 + std::to_string(options.max_states)
                                 + " search states";
            return result;
          }
          stack.emplace_back(e, before);
          lift(e);
          e = head->next;
          continue;
        }
        current.flip(e->step);
        current.value = before;
      }
      e = e->next;
    } else {
      // A completion whose operation is not placed yet: this order fails.
      if (stack.size() >= best_order.size()) {
        best_order.clear();
        for (auto& [placed, ignored] : stack)
          best_order.push_back(placed->step);
        stuck = e->step;
      }
      if (stack.empty()) {
        result.result = verdict::violation;
        result.key = key;
        result.explanation = explain(steps, best_order, stuck);
        return result;
      }
      auto [placed, before] = stack.back();
      stack.pop_back();
      current.flip(placed->step);
      current.value = before;
      unlift(placed);
      e = placed->next;
    }
  }
  return result;
}

check_result check(const history& h, const check_options& options) {
  std::map<std::string, std::vector<operation>> by_key;
  for (auto& op : h.operations)
    by_key[op.key].push_back(op);
  check_result result;
  result.keys = by_key.size();
  result.operations = h.operations.size();
  for (auto& [key, ops] : by_key) {
    auto one = check_key(key, ops, options);
    if (!one.ok()) {
      result.result = one.result;
      result.key = key;
      result.explanation = std::move(one.explanation);
      return result;
    }
  }
  return result;
}

} // namespace cafray::lincheck
