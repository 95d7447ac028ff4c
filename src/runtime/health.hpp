// HealthMonitor: the concurrency-health SLIs of contract §7 and the leak detector.
//
// sample() (called every `sample_interval` by a daemon task, or by hand in tests with a
// FakeClock) reads the TaskRegistry and /proc, keeps a window of samples and evaluates the
// leak rules documented in docs/architecture.md ("## Runtime"):
//
//  * score rule: s = (n − avg) / (avg + 1), where n is the number of *settled* non-daemon tasks
//    (alive for at least one sample interval, so work that finishes quickly never counts) and
//    avg the mean of n over the earlier samples of the window. Fires when s > score_threshold
//    and n − avg ≥ score_min_growth on `consecutive_samples` samples in a row, once the window
//    holds at least half its samples. (On a quiet server avg ≈ 0, and without the floor five
//    operators opening the event stream would score 5: long-lived by design, not a leak.)
//  * rate rule: least-squares slope of n over the window, in tasks per hour. Fires when it is
//    above rate_threshold_per_hour on `consecutive_samples` samples in a row with a full window
//    in which n grew in both halves (a ramp, not one step). Catches a slow leak, e.g. +2
//    tasks/minute, whose score never crosses the threshold.
//  * fd rule: open fds minus the window's minimum ≥ fd_growth_threshold on
//    `consecutive_samples` samples in a row.
//  * stuck rule: a task inside one bounded WaitMarker for longer than stuck_after.
//
// The fd rule, once fired, stays latched until it is clear on a sample. The score and rate
// rules share one latch (one incident, one report): it opens when either fires and closes once
// n is back below where the incident began plus score_min_growth (the leaked tasks are gone).
// A stuck task is reported once. Firing logs a warning, logs a task dump grouped by spawn site,
// and calls on_leak (the app journals a `task_leak` record there).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/task_registry.hpp"

namespace castellan::runtime {

class TaskGroup;

struct HealthOptions {
  std::chrono::milliseconds sample_interval{3000};
  std::chrono::seconds window{60};
  double score_threshold = 2.5;
  int score_min_growth = 10;  // n − avg at least this for the score rule
  double rate_threshold_per_hour = 60;
  int consecutive_samples = 3;
  int fd_growth_threshold = 64;
  std::chrono::seconds stuck_after{30};
  int worker_threads = 1;  // denominator of tasks_active_ratio

  static HealthOptions from_config(const Config& config);
};

struct SliSnapshot {
  std::int64_t sampled_at_us = 0;  // Clock::monotonic(), µs
  std::size_t tasks_active = 0;
  std::size_t tasks_non_daemon = 0;
  std::size_t tasks_settled = 0;  // the n of the leak rules
  double tasks_active_ratio = 0;
  double blocked_p99_seconds = 0;
  double leak_rate_per_hour = 0;
  double leak_score = 0;
  long open_fds = -1;   // -1: /proc not readable
  long rss_bytes = -1;  // -1: /proc not readable
  bool window_full = false;
};

enum class LeakKind { kTaskScore, kTaskRate, kFds, kStuckTask };
std::string_view leak_kind_name(LeakKind kind);  // "task_score", "task_rate", "fds", "stuck_task"

// Live tasks that share one spawn site.
struct SiteGroup {
  std::string spawn_site;
  std::string name;  // the name of the oldest task of the site
  std::size_t count = 0;
  double oldest_age_s = 0;
  double newest_age_s = 0;
};

struct LeakReport {
  LeakKind kind = LeakKind::kTaskScore;
  std::string message;     // one human sentence: what and where
  std::string spawn_site;  // the most likely culprit (largest / stuck site); may be empty
  SliSnapshot sli;
  std::vector<SiteGroup> sites;  // every live task grouped by spawn site, largest first
  std::vector<std::pair<std::string, int>> fd_kinds;  // fd rule: fd targets by kind, largest first
};

// Groups a task snapshot by spawn site, largest group first (ties: oldest first).
std::vector<SiteGroup> group_by_site(const std::vector<TaskInfo>& tasks);

class HealthMonitor {
 public:
  using LeakCallback = std::function<void(const LeakReport&)>;

  HealthMonitor(TaskRegistry& registry, const Clock& clock, HealthOptions options,
                LeakCallback on_leak = {});
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Takes one sample now, evaluates the rules, fires on_leak for each newly firing rule, and
  // returns the SLIs. Thread-safe.
  SliSnapshot sample();
  SliSnapshot latest() const;
  // Reports fired so far (most recent last, at most 64 kept).
  std::vector<LeakReport> reports() const;

  // Registers castellan_tasks_* / castellan_task_leak_* / castellan_process_* gauges that read
  // latest(). The monitor must outlive the registry's render() calls (the handles are kept
  // here and released by the destructor).
  void register_metrics(MetricsRegistry& metrics);

  // Spawns the periodic sampler as a daemon task "health sampler" of `group` (real timer of
  // sample_interval; time read from the Clock). Close the group before destroying the monitor.
  void start(TaskGroup& group, const boost::asio::any_io_executor& executor);

  const HealthOptions& options() const { return options_; }

 private:
  struct Sample {
    std::int64_t at_us;
    double settled;
    long fds;
    std::map<std::string, double> by_site;  // settled non-daemon tasks per spawn site
  };
  void evaluate(SliSnapshot& sli, const std::vector<TaskInfo>& tasks);
  void fire(LeakKind kind, std::string message, std::string site, const SliSnapshot& sli,
            const std::vector<TaskInfo>& tasks);

  TaskRegistry& registry_;
  const Clock& clock_;
  HealthOptions options_;
  LeakCallback on_leak_;
  mutable std::mutex mu_;
  std::deque<Sample> window_;
  SliSnapshot latest_;
  int score_streak_ = 0, rate_streak_ = 0, fd_streak_ = 0;
  bool task_incident_ = false, fd_latched_ = false;  // latches (see above)
  double score_growth_ = 0;                          // n − avg of the last sample
  double incident_base_ = 0;                         // n before the open incident's growth
  std::set<TaskId> stuck_reported_;
  std::vector<LeakReport> reports_;
  std::vector<MetricsRegistry::CallbackHandle> metric_handles_;
};

}  // namespace castellan::runtime
