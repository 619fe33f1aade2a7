#pragma once

// Linearizability of a register history, checked key by key (a history of
// independent registers is linearizable exactly when each key's is).
//
// The search is Wing and Gong's, in the form Lowe and Horn & Kroening made
// fast: walk the operations in order of invocation and completion, try to
// linearize each pending operation that the register allows, undo when a
// completion is reached whose operation could not be placed, and never try
// the same (set of linearized operations, register value) twice.

#include <cstddef>
#include <string>
#include <vector>

#include "history.hpp"

namespace cafray::lincheck {

/// Whether a history is linearizable.
enum class verdict {
  linearizable,
  violation,
  inconclusive, // the search budget ran out
};

/// The answer of `check`.
struct check_result {
  verdict result = verdict::linearizable;
  /// Keys in the history.
  size_t keys = 0;
  /// Operations in the history.
  size_t operations = 0;
  /// For a violation or an inconclusive search: the key.
  std::string key;
  /// For a violation: the longest order found and the operation no order
  /// can place before its completion.
  std::string explanation;

  bool ok() const noexcept {
    return result == verdict::linearizable;
  }
};

/// Limits of the search.
struct check_options {
  /// Distinct search states per key before giving up.
  size_t max_states = 20'000'000;
};

/// Checks every key of `h`; stops at the first key that is not
/// linearizable.
check_result check(const history& h, const check_options& options = {});

/// Checks the operations of one key.
check_result check_key(const std::string& key,
                       const std::vector<operation>& ops,
                       const check_options& options = {});

} // namespace cafray::lincheck
