#include "harness.hpp"

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace bench {

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::vector<trial> timeit(const settings& s, const std::function<void()>& fn,
                          double units_per_call,
                          const std::function<void()>& finish,
                          uint64_t max_calls, uint64_t min_warm_calls) {
  // Warm-up: at least min_warm_calls calls, then until warmup_s has passed.
  auto start = clock_type::now();
  uint64_t warm_calls = 0;
  do {
    fn();
    ++warm_calls;
  } while (warm_calls < min_warm_calls
           || (seconds_since(start) < s.warmup_s && warm_calls < max_calls));
  if (finish)
    finish();
  std::vector<trial> result;
  for (int t = 0; t < s.trials; ++t) {
    uint64_t calls = 0;
    auto t0 = clock_type::now();
    do {
      fn();
      ++calls;
    } while (seconds_since(t0) < s.trial_s && calls < max_calls);
    if (finish)
      finish();
    result.push_back(trial{static_cast<double>(calls) * units_per_call,
                           seconds_since(t0)});
  }
  return result;
}

namespace {

void mean_sd(const std::vector<double>& xs, double& mean, double& sd) {
  mean = 0;
  sd = 0;
  if (xs.empty())
    return;
  for (auto x : xs)
    mean += x;
  mean /= static_cast<double>(xs.size());
  for (auto x : xs)
    sd += (x - mean) * (x - mean);
  sd = std::sqrt(sd / static_cast<double>(xs.size()));
}

std::string fmt_number(double x) {
  char buf[64];
  if (!std::isfinite(x))
    return "-";
  auto ax = std::fabs(x);
  if (ax >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.3gM", x / 1e6);
  else if (ax >= 100)
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  else
    std::snprintf(buf, sizeof(buf), "%.3g", x);
  return buf;
}

std::string json_escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string json_number(double x) {
  if (!std::isfinite(x))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

} // namespace

std::optional<bool> result::target_met() const {
  if (!error.empty() || target_op.empty())
    return std::nullopt;
  return target_op == ">=" ? value >= target : value <= target;
}

void set_rate(result& r, const std::vector<trial>& trials) {
  std::vector<double> xs;
  for (auto& t : trials)
    xs.push_back(t.units / t.seconds);
  mean_sd(xs, r.value, r.stddev);
}

void set_ms_per_unit(result& r, const std::vector<trial>& trials) {
  std::vector<double> xs;
  for (auto& t : trials)
    xs.push_back(t.seconds * 1000.0 / t.units);
  mean_sd(xs, r.value, r.stddev);
}

void print_header() {
  std::printf("%-34s %12s %-10s %10s %12s %10s  %s\n", "benchmark", "value",
              "unit", "+-", "ray(64vCPU)", "target", "met");
  std::printf("%s\n", std::string(100, '-').c_str());
  std::fflush(stdout);
}

void print_row(const result& r) {
  if (!r.error.empty()) {
    std::printf("%-34s %12s %-10s  FAILED: %s\n", r.name.c_str(), "-",
                r.unit.c_str(), r.error.c_str());
    std::fflush(stdout);
    return;
  }
  std::string target = r.target_op.empty()
                         ? std::string{"-"}
                         : r.target_op + fmt_number(r.target);
  auto met = r.target_met();
  std::printf("%-34s %12s %-10s %10s %12s %10s  %s\n", r.name.c_str(),
              fmt_number(r.value).c_str(), r.unit.c_str(),
              fmt_number(r.stddev).c_str(),
              r.ray ? fmt_number(*r.ray).c_str() : "-", target.c_str(),
              met ? (*met ? "yes" : "no") : "-");
  for (auto& [key, value] : r.extra)
    std::printf("%-34s %12s   (%s)\n", "", fmt_number(value).c_str(),
                key.c_str());
  std::fflush(stdout);
}

bool write_json(const std::string& path, const settings& s,
                const std::vector<result>& results) {
  std::ostringstream out;
  out << "{\n  \"mode\": \"" << (s.quick ? "quick" : "full") << "\",\n"
      << "  \"embedded\": " << (s.cluster ? "false" : "true") << ",\n"
      << "  \"hardware_threads\": " << std::thread::hardware_concurrency()
      << ",\n"
      << "  \"trials\": " << s.trials << ",\n"
      << "  \"trial_seconds\": " << json_number(s.trial_s) << ",\n"
      << "  \"get_timeouts\": " << (s.timeouts ? "true" : "false") << ",\n"
      << "  \"results\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    auto& r = results[i];
    out << (i == 0 ? "\n" : ",\n") << "    {\"name\": \""
        << json_escape(r.name) << "\", ";
    if (r.error.empty())
      out << "\"value\": " << json_number(r.value)
          << ", \"stddev\": " << json_number(r.stddev) << ", ";
    else
      out << "\"value\": null, \"error\": \"" << json_escape(r.error)
          << "\", ";
    out << "\"unit\": \"" << json_escape(r.unit) << "\", \"ray\": "
        << (r.ray ? json_number(*r.ray) : "null") << ", \"target\": ";
    if (r.target_op.empty())
      out << "null";
    else
      out << "{\"op\": \"" << r.target_op
          << "\", \"value\": " << json_number(r.target) << "}";
    auto met = r.target_met();
    out << ", \"target_met\": "
        << (met ? (*met ? "true" : "false") : "null");
    out << ", \"extra\": {";
    bool first = true;
    for (auto& [key, value] : r.extra) {
      out << (first ? "" : ", ") << "\"" << json_escape(key)
          << "\": " << json_number(value);
      first = false;
    }
    out << "}}";
  }
  out << "\n  ]\n}\n";
  std::ofstream f{path, std::ios::trunc};
  if (!f) {
    std::fprintf(stderr, "cafray-bench: cannot write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  f << out.str();
  f.close();
  if (!f) {
    std::fprintf(stderr, "cafray-bench: writing %s failed\n", path.c_str());
    return false;
  }
  return true;
}

int64_t proc_status_kib(const char* field) {
  std::ifstream f{"/proc/self/status"};
  std::string line;
  auto len = std::strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, len, field) == 0 && line.size() > len
        && line[len] == ':')
      return std::stoll(line.substr(len + 1));
  }
  return -1;
}

bool reset_peak_rss() {
  std::ofstream f{"/proc/self/clear_refs"};
  if (!f)
    return false;
  f << "5";
  f.close();
  return static_cast<bool>(f);
}

struct watchdog::impl {
  on_fire fire;
  std::mutex mtx;
  std::condition_variable cv;
  std::string phase;
  bool armed = false;
  bool stop = false;
  clock_type::time_point deadline;
  std::thread thread;

  void run() {
    std::unique_lock<std::mutex> guard{mtx};
    while (!stop) {
      if (!armed) {
        cv.wait(guard);
        continue;
      }
      if (cv.wait_until(guard, deadline) == std::cv_status::timeout && armed
          && !stop && clock_type::now() >= deadline) {
        auto name = phase;
        guard.unlock();
        fire(name);
        // fire() is expected not to return; make sure of it.
        ::_exit(3);
      }
    }
  }
};

watchdog::watchdog(on_fire f) : impl_(new impl) {
  impl_->fire = std::move(f);
  impl_->thread = std::thread{[this] { impl_->run(); }};
}

watchdog::~watchdog() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  delete impl_;
}

void watchdog::arm(const std::string& phase, std::chrono::seconds budget) {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->phase = phase;
    impl_->armed = true;
    impl_->deadline = clock_type::now() + budget;
  }
  impl_->cv.notify_all();
}

void watchdog::disarm() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->armed = false;
  }
  impl_->cv.notify_all();
}

} // namespace bench
