#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

namespace cafray {

/// Who watches which GCS row: subscribers by (table, key), and the keys of
/// each subscriber, so that all of them go when it goes down. Shared by
/// the single-replica shard and the chain's facade.
class subscriber_table {
public:
  using row = std::pair<uint8_t, std::string>;

  enum class added {
    already,         // it watched this row before: nothing changed
    row,             // a new row for a subscriber already monitored
    first,           // its first row: the caller monitors it
  };

  added add(uint8_t table, const std::string& key, const caf::actor& sub) {
    auto& subs = by_row_[{table, key}];
    if (std::find(subs.begin(), subs.end(), sub) != subs.end())
      return added::already;
    subs.push_back(sub);
    auto& rows = by_subscriber_[sub.address()];
    rows.emplace_back(table, key);
    return rows.size() == 1 ? added::first : added::row;
  }

  /// The subscribers of a row, or nullptr if it has none.
  const std::vector<caf::actor>* find(uint8_t table,
                                      const std::string& key) const {
    auto i = by_row_.find({table, key});
    return i == by_row_.end() ? nullptr : &i->second;
  }

  /// Forgets every row `who` watched.
  void drop(const caf::actor_addr& who) {
    auto i = by_subscriber_.find(who);
    if (i == by_subscriber_.end())
      return;
    for (auto& r : i->second) {
      auto j = by_row_.find(r);
      if (j == by_row_.end())
        continue;
      auto& subs = j->second;
      subs.erase(std::remove_if(subs.begin(), subs.end(),
                                [&](const caf::actor& x) {
                                  return x.address() == who;
                                }),
                 subs.end());
      if (subs.empty())
        by_row_.erase(j);
    }
    by_subscriber_.erase(i);
  }

private:
  std::map<row, std::vector<caf::actor>> by_row_;
  std::map<caf::actor_addr, std::vector<row>> by_subscriber_;
};

} // namespace cafray
