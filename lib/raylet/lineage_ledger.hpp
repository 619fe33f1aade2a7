#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"

namespace cafray {

/// How much lineage of finished work the GCS keeps (0: no limit).
struct lineage_limits {
  /// Most task records kept in closed segments; finished segments beyond it
  /// are dropped, oldest first.
  uint64_t max_tasks = 0;

  /// Finished segments closed longer ago than this are dropped.
  std::chrono::seconds max_age{0};

  bool unlimited() const noexcept {
    return max_tasks == 0 && max_age.count() == 0;
  }
};

/// Which lineage segments a raylet wrote hold only finished work, so that
/// the GCS can drop them once they are past the limits (the paper's
/// flushing problem: without it, a run of 10 million tasks grows the GCS
/// without bound). Plain logic: the raylet reports what it records into the
/// open segment, when the segment closes (under the key `lineage_writer`
/// gave it), and which tasks finished; `compact` names the segments to
/// delete.
///
/// A segment is finished once every task recorded in it as pending has
/// finished or has been recorded again in a later segment (the later record
/// carries its state). Records that are not pending (a task handed to the
/// global scheduler, which this raylet will not hear of again; an actor
/// creation, whose record is the actor's) finish nothing and hold nothing.
/// Without limits the ledger keeps no books at all, so that the default
/// configuration pays nothing per task.
class lineage_ledger {
public:
  using clock = std::chrono::steady_clock;

  explicit lineage_ledger(lineage_limits limits = {}) : limits_(limits) {
  }

  /// A record of `task` went into the open segment.
  void recorded(const task_id& task, bool pending);

  /// The open segment closed as GCS row `key` (empty segments are never
  /// closed: `lineage_writer` writes no row for them).
  void closed(std::string key, clock::time_point now);

  /// `task` finished; unknown tasks are ignored.
  void finished(const task_id& task);

  /// The keys of the closed segments to drop now, oldest first: finished
  /// segments while the closed segments hold more than `max_tasks` records,
  /// and finished segments older than `max_age`. They are forgotten here.
  std::vector<std::string> compact(clock::time_point now);

  /// Closed segments kept.
  size_t segments() const noexcept {
    return closed_.size();
  }

  /// Records in the closed segments kept.
  uint64_t records() const noexcept {
    return records_;
  }

  /// Tasks recorded as pending and not finished yet.
  size_t pending() const noexcept {
    return pending_.size();
  }

private:
  struct segment {
    uint64_t number = 0;
    std::string key;
    uint64_t records = 0;
    uint64_t unfinished = 0;
    clock::time_point closed_at;
  };

  segment* find(uint64_t number);

  lineage_limits limits_;
  /// The open segment: its number and counts.
  segment open_;
  std::deque<segment> closed_;
  uint64_t records_ = 0;
  /// Pending tasks and the segment of their last record.
  std::unordered_map<task_id, uint64_t> pending_;
};

} // namespace cafray
