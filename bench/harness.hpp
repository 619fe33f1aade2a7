#pragma once

// The measuring side of cafray-bench: timing loops shaped like Ray's
// ray_microbenchmark_helpers.timeit, results, the printed table, the JSON
// file, memory readings from /proc and a watchdog that ends a hung run.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start);

/// How long and how often each benchmark runs.
struct settings {
  bool quick = false;
  double warmup_s = 0.5;   // time spent before measuring
  double trial_s = 1.0;    // length of one trial
  int trials = 3;          // trials per benchmark; the mean is reported
  bool timeouts = true;    // give every get/wait a finite timeout
  std::chrono::seconds get_timeout{30};
  uint64_t put_bytes = 256ull << 20;  // size of one put_gigabytes object
  uint64_t queued_tasks = 1000000;    // queued_1m_noop_tasks count
  int batch = 1000;                   // refs per batch (Ray: 1000)
  int nn_callers = 2;                 // threads (and actors) in n_n
  bool cluster = false;  // a driver of a running cluster (CAFRAY_ADDRESS)
};

/// One trial: how many units of work in how many seconds.
struct trial {
  double units = 0;
  double seconds = 0;
};

/// Runs `fn` (one call = `units_per_call` units) for the warm-up, then for
/// `trials` trials of at least `trial_s` seconds (at least one call, at most
/// `max_calls` calls each). `finish`, if given, runs at the end of the
/// warm-up and of each trial inside the timed region (e.g. to wait until
/// asynchronous puts have landed). The warm-up makes at least
/// `min_warm_calls` calls, however long they take.
std::vector<trial> timeit(const settings& s,
                          const std::function<void()>& fn,
                          double units_per_call,
                          const std::function<void()>& finish = {},
                          uint64_t max_calls = UINT64_MAX,
                          uint64_t min_warm_calls = 1);

/// What a benchmark reports.
struct result {
  std::string name;
  double value = 0;        // mean over the trials
  double stddev = 0;       // population standard deviation over the trials
  std::string unit;        // e.g. "tasks/s", "GB/s", "ms", "MiB"
  std::optional<double> ray;   // Ray's published figure (64 vCPUs)
  std::string target_op;       // ">=" or "<=" or empty (no target)
  double target = 0;
  std::string error;           // non-empty: the benchmark failed to run
  std::map<std::string, double> extra;  // further figures

  /// Whether the target is met; empty when there is none or on error.
  std::optional<bool> target_met() const;
};

/// Fills value and stddev from per-trial rates (units / second).
void set_rate(result& r, const std::vector<trial>& trials);

/// Fills value and stddev from per-trial milliseconds per unit.
void set_ms_per_unit(result& r, const std::vector<trial>& trials);

/// Prints the header of the table.
void print_header();

/// Prints one row of the table.
void print_row(const result& r);

/// Writes every result as JSON; returns false (and prints why) on failure.
bool write_json(const std::string& path, const settings& s,
                const std::vector<result>& results);

/// A field of /proc/self/status in KiB (VmRSS, VmHWM, ...); -1 if absent.
int64_t proc_status_kib(const char* field);

/// Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs);
/// returns false where the kernel does not allow it.
bool reset_peak_rss();

/// Ends the process (after writing the JSON it is given) when one phase runs
/// longer than its budget: a run never hangs.
class watchdog {
public:
  using on_fire = std::function<void(const std::string& phase)>;

  explicit watchdog(on_fire f);
  ~watchdog();

  /// Starts a phase that must end within `budget`.
  void arm(const std::string& phase, std::chrono::seconds budget);

  /// The phase ended.
  void disarm();

private:
  struct impl;
  impl* impl_;
};

} // namespace bench
