#include "raylet/lineage_ledger.hpp"

namespace cafray {

lineage_ledger::segment* lineage_ledger::find(uint64_t number) {
  if (number == open_.number)
    return &open_;
  // Closed segments are numbered in order, with gaps where some were
  // dropped: a binary search would do, but the few kept are mostly recent.
  for (auto i = closed_.rbegin(); i != closed_.rend(); ++i)
    if (i->number == number)
      return &*i;
  return nullptr;
}

void lineage_ledger::recorded(const task_id& task, bool pending) {
  if (limits_.unlimited())
    return; // nothing is ever dropped: keep no books
  ++open_.records;
  auto i = pending_.find(task);
  if (i != pending_.end()) {
    // The new record supersedes the old one.
    if (auto* old = find(i->second); old != nullptr && old->unfinished > 0)
      --old->unfinished;
    if (!pending) {
      pending_.erase(i);
      return;
    }
    i->second = open_.number;
    ++open_.unfinished;
    return;
  }
  if (pending) {
    pending_.emplace(task, open_.number);
    ++open_.unfinished;
  }
}

void lineage_ledger::closed(std::string key, clock::time_point now) {
  if (limits_.unlimited())
    return; // nothing is ever dropped: keep no books
  open_.key = std::move(key);
  open_.closed_at = now;
  records_ += open_.records;
  auto next = open_.number + 1;
  closed_.push_back(std::move(open_));
  open_ = segment{};
  open_.number = next;
}

void lineage_ledger::finished(const task_id& task) {
  if (limits_.unlimited())
    return; // nothing is ever dropped: keep no books
  auto i = pending_.find(task);
  if (i == pending_.end())
    return;
  if (auto* seg = find(i->second); seg != nullptr && seg->unfinished > 0)
    --seg->unfinished;
  pending_.erase(i);
}

std::vector<std::string> lineage_ledger::compact(clock::time_point now) {
  std::vector<std::string> result;
  for (auto i = closed_.begin(); i != closed_.end();) {
    auto over_count = limits_.max_tasks > 0 && records_ > limits_.max_tasks;
    auto over_age = limits_.max_age.count() > 0
                    && now - i->closed_at > limits_.max_age;
    // Segments are in closing order: the later ones are younger still.
    if (!over_count && !over_age)
      break;
    if (i->unfinished > 0) {
      ++i;
      continue;
    }
    records_ -= i->records;
    result.push_back(std::move(i->key));
    i = closed_.erase(i);
  }
  return result;
}

} // namespace cafray
