#include "runtime/health.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <map>

#include "core/log.hpp"
#include "runtime/process_stats.hpp"
#include "runtime/task_group.hpp"

namespace castellan::runtime {
namespace {

std::int64_t mono_us(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock.monotonic().time_since_epoch())
      .count();
}

double seconds(std::chrono::microseconds d) {
  return static_cast<double>(d.count()) / 1e6;
}

// Least-squares slope of y over x (µs), per hour.
template <class Samples>
double slope_per_hour(const Samples& samples) {
  const double n = static_cast<double>(samples.size());
  if (samples.size() < 2) return 0.0;
  double mx = 0, my = 0;
  for (const auto& s : samples) {
    mx += static_cast<double>(s.at_us);
    my += s.settled;
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0;
  for (const auto& s : samples) {
    const double dx = static_cast<double>(s.at_us) - mx;
    sxy += dx * (s.settled - my);
    sxx += dx * dx;
  }
  return sxx > 0 ? sxy / sxx * 3.6e9 : 0.0;
}

}  // namespace

HealthOptions HealthOptions::from_config(const Config& config) {
  HealthOptions o;
  o.sample_interval = std::chrono::milliseconds{config.runtime.leak_sample_ms};
  o.window = std::chrono::seconds{config.runtime.leak_window_s};
  o.score_threshold = config.runtime.leak_score_threshold;
  o.score_min_growth = config.runtime.leak_score_min_growth;
  o.rate_threshold_per_hour = config.runtime.leak_rate_per_hour_threshold;
  o.fd_growth_threshold = config.runtime.leak_fd_growth_threshold;
  o.stuck_after = std::chrono::seconds{config.runtime.stuck_task_s};
  o.worker_threads = std::max(1, config.server.threads);
  return o;
}

std::string_view leak_kind_name(LeakKind kind) {
  switch (kind) {
    case LeakKind::kTaskScore:
      return "task_score";
    case LeakKind::kTaskRate:
      return "task_rate";
    case LeakKind::kFds:
      return "fds";
    case LeakKind::kStuckTask:
      return "stuck_task";
  }
  return "unknown";
}

std::vector<SiteGroup> group_by_site(const std::vector<TaskInfo>& tasks) {
  std::map<std::string, SiteGroup> by_site;
  for (const auto& t : tasks) {
    SiteGroup& g = by_site[t.spawn_site];
    const double age = seconds(t.age);
    if (g.count == 0) {
      g.spawn_site = t.spawn_site;
      g.name = t.name;
      g.oldest_age_s = g.newest_age_s = age;
    } else {
      if (age > g.oldest_age_s) {
        g.oldest_age_s = age;
        g.name = t.name;
      }
      g.newest_age_s = std::min(g.newest_age_s, age);
    }
    ++g.count;
  }
  std::vector<SiteGroup> out;
  for (auto& [site, g] : by_site) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [](const SiteGroup& a, const SiteGroup& b) {
    return a.count != b.count ? a.count > b.count : a.oldest_age_s > b.oldest_age_s;
  });
  return out;
}

HealthMonitor::HealthMonitor(TaskRegistry& registry, const Clock& clock, HealthOptions options,
                             LeakCallback on_leak)
    : registry_(registry), clock_(clock), options_(options), on_leak_(std::move(on_leak)) {}

HealthMonitor::~HealthMonitor() = default;

SliSnapshot HealthMonitor::sample() {
  const auto tasks = registry_.snapshot();
  const long fds = count_open_fds();
  const long rss = resident_set_bytes();
  std::vector<LeakReport> fired;
  SliSnapshot sli;
  {
    std::lock_guard lock(mu_);
    const std::size_t before = reports_.size();
    sli.sampled_at_us = mono_us(clock_);
    sli.tasks_active = tasks.size();
    std::map<std::string, double> settled_by_site;
    std::vector<std::int64_t> waits;
    for (const auto& t : tasks) {
      if (!t.daemon) {
        ++sli.tasks_non_daemon;
        if (t.age >= options_.sample_interval) {
          ++sli.tasks_settled;
          settled_by_site[t.spawn_site] += 1;
        }
      }
      if (!t.waiting_on.empty() && t.wait_kind == WaitKind::kBounded) {
        waits.push_back(t.waiting_for.count());
      }
    }
    sli.tasks_active_ratio =
        static_cast<double>(sli.tasks_active) / std::max(1, options_.worker_threads);
    if (!waits.empty()) {
      std::sort(waits.begin(), waits.end());
      const auto rank =
          static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(waits.size())));
      sli.blocked_p99_seconds =
          static_cast<double>(waits[std::max<std::size_t>(rank, 1) - 1]) / 1e6;
    }
    sli.open_fds = fds;
    sli.rss_bytes = rss;

    window_.push_back(Sample{sli.sampled_at_us, static_cast<double>(sli.tasks_settled), fds,
                             std::move(settled_by_site)});
    const std::int64_t window_us =
        std::chrono::duration_cast<std::chrono::microseconds>(options_.window).count();
    while (!window_.empty() && window_.front().at_us < sli.sampled_at_us - window_us) {
      window_.pop_front();
    }
    evaluate(sli, tasks);
    latest_ = sli;
    fired.assign(reports_.begin() + static_cast<std::ptrdiff_t>(before), reports_.end());
    if (reports_.size() > 64) {
      reports_.erase(reports_.begin(), reports_.end() - 64);
    }
  }
  for (const auto& r : fired) {
    if (on_leak_) on_leak_(r);
  }
  return sli;
}

// Called with mu_ held, after the current sample was appended to window_.
void HealthMonitor::evaluate(SliSnapshot& sli, const std::vector<TaskInfo>& tasks) {
  const auto interval_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.sample_interval).count();
  const auto window_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.window).count();
  const std::size_t expected = static_cast<std::size_t>(
      std::max<std::int64_t>(1, window_us / std::max<std::int64_t>(1, interval_us)));
  sli.window_full = window_.back().at_us - window_.front().at_us >= window_us - interval_us;

  // Score: current n against the mean of the earlier samples of the window.
  const std::size_t earlier = window_.size() - 1;
  if (earlier >= (expected + 1) / 2) {
    double sum = 0;
    for (std::size_t i = 0; i < earlier; ++i) sum += window_[i].settled;
    const double avg = sum / static_cast<double>(earlier);
    sli.leak_score = (window_.back().settled - avg) / (avg + 1.0);
    score_growth_ = window_.back().settled - avg;
  } else {
    score_growth_ = 0;
  }
  sli.leak_rate_per_hour = slope_per_hour(window_);

  // The site whose settled count grew most since the window's first sample.
  auto culprit = [&]() -> std::pair<std::string, double> {
    std::pair<std::string, double> best{"", 0};
    const auto& first = window_.front().by_site;
    for (const auto& [site, count] : window_.back().by_site) {
      auto it = first.find(site);
      const double growth = count - (it == first.end() ? 0.0 : it->second);
      if (growth > best.second) best = {site, growth};
    }
    return best;
  };

  auto rule = [&](bool breached, int& streak, bool& latched) {
    if (!breached) {
      streak = 0;
      latched = false;
      return false;
    }
    ++streak;
    if (streak < options_.consecutive_samples || latched) return false;
    latched = true;
    return true;
  };

  // Growth in both halves of the window: a ramp, not one step (one step is the score
  // rule's business; the slope of a single step can exceed the threshold for a while).
  bool grew_in_both_halves = false;
  if (window_.size() >= 3) {
    const double first = window_.front().settled;
    const double mid = window_[window_.size() / 2].settled;
    const double last = window_.back().settled;
    grew_in_both_halves = mid > first && last > mid;
  }

  const bool score_breached =
      sli.leak_score > options_.score_threshold && score_growth_ >= options_.score_min_growth;
  const bool rate_breached = sli.window_full && grew_in_both_halves &&
                             sli.leak_rate_per_hour > options_.rate_threshold_per_hour;
  score_streak_ = score_breached ? score_streak_ + 1 : 0;
  rate_streak_ = rate_breached ? rate_streak_ + 1 : 0;
  // One incident, one report: the first of the two task rules to fire opens it, and it stays
  // open until n is back below where it began plus score_min_growth: a leak that goes on
  // growing (the score rule first, the rate rule once the window has the ramp) is one leak.
  const double n = window_.back().settled;
  if (task_incident_ && n - incident_base_ < std::max(1, options_.score_min_growth)) {
    task_incident_ = false;
  }
  const bool score_fires = !task_incident_ && score_streak_ >= options_.consecutive_samples;
  const bool rate_fires =
      !task_incident_ && !score_fires && rate_streak_ >= options_.consecutive_samples;
  if (score_fires || rate_fires) {
    task_incident_ = true;
    incident_base_ = score_fires ? n - score_growth_ : window_.front().settled;
  }
  if (score_fires) {
    auto [site, growth] = culprit();
    fire(LeakKind::kTaskScore,
         fmt::format("task leak: leak score {:.2f} above {} for {} samples ({} settled non-daemon "
                     "tasks); most growth at {} (+{})",
                     sli.leak_score, options_.score_threshold, options_.consecutive_samples,
                     sli.tasks_settled, site.empty() ? "?" : site, growth),
         site, sli, tasks);
  }
  if (rate_fires) {
    auto [site, growth] = culprit();
    fire(LeakKind::kTaskRate,
         fmt::format("task leak: non-daemon tasks growing {:.1f}/hour over {} s (threshold {}); "
                     "most growth at {} (+{})",
                     sli.leak_rate_per_hour, options_.window.count(),
                     options_.rate_threshold_per_hour, site.empty() ? "?" : site, growth),
         site, sli, tasks);
  }

  long min_fds = -1;
  for (const auto& s : window_) {
    if (s.fds >= 0 && (min_fds < 0 || s.fds < min_fds)) min_fds = s.fds;
  }
  const long fd_growth = (sli.open_fds >= 0 && min_fds >= 0) ? sli.open_fds - min_fds : 0;
  if (rule(fd_growth >= options_.fd_growth_threshold, fd_streak_, fd_latched_)) {
    fire(LeakKind::kFds,
         fmt::format("fd leak: {} open fds, +{} over the window (threshold {})", sli.open_fds,
                     fd_growth, options_.fd_growth_threshold),
         "", sli, tasks);
  }

  std::set<TaskId> still_stuck;
  for (const auto& t : tasks) {
    if (t.waiting_on.empty() || t.wait_kind != WaitKind::kBounded) continue;
    if (t.waiting_for <= options_.stuck_after) continue;
    still_stuck.insert(t.id);
    if (stuck_reported_.count(t.id)) continue;
    fire(LeakKind::kStuckTask,
         fmt::format("stuck task: '{}' spawned at {} has waited on '{}' for {:.1f} s (threshold "
                     "{} s)",
                     t.name, t.spawn_site, t.waiting_on, seconds(t.waiting_for),
                     options_.stuck_after.count()),
         t.spawn_site, sli, tasks);
  }
  stuck_reported_ = std::move(still_stuck);
}

void HealthMonitor::fire(LeakKind kind, std::string message, std::string site,
                         const SliSnapshot& sli, const std::vector<TaskInfo>& tasks) {
  LeakReport report;
  report.kind = kind;
  report.message = std::move(message);
  report.spawn_site = std::move(site);
  report.sli = sli;
  report.sites = group_by_site(tasks);
  if (kind == LeakKind::kFds) report.fd_kinds = open_fd_kinds();
  spdlog::warn("{}", report.message);
  for (const auto& g : report.sites) {
    spdlog::warn("task dump: {} x '{}' at {} (oldest {:.1f} s, newest {:.1f} s)", g.count, g.name,
                 g.spawn_site, g.oldest_age_s, g.newest_age_s);
  }
  for (const auto& [target, count] : report.fd_kinds) {
    spdlog::warn("fd dump: {} x {}", count, target);
  }
  reports_.push_back(std::move(report));
}

SliSnapshot HealthMonitor::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

std::vector<LeakReport> HealthMonitor::reports() const {
  std::lock_guard lock(mu_);
  return reports_;
}

void HealthMonitor::register_metrics(MetricsRegistry& metrics) {
  auto add = [&](const char* name, const char* help, double (*read)(const SliSnapshot&)) {
    metric_handles_.push_back(
        metrics.callback_gauge(name, help, {}, [this, read] { return read(latest()); }));
  };
  add("castellan_tasks_active", "Live registered tasks",
      [](const SliSnapshot& s) { return static_cast<double>(s.tasks_active); });
  add("castellan_tasks_active_ratio", "Live registered tasks per io worker thread",
      [](const SliSnapshot& s) { return s.tasks_active_ratio; });
  add("castellan_tasks_blocked_p99_seconds",
      "p99 of how long tasks have been inside their current bounded wait",
      [](const SliSnapshot& s) { return s.blocked_p99_seconds; });
  add("castellan_task_leak_rate_per_hour",
      "Least-squares growth of settled non-daemon tasks over the leak window, per hour",
      [](const SliSnapshot& s) { return s.leak_rate_per_hour; });
  add("castellan_task_leak_score", "(now - avg) / (avg + 1) of settled non-daemon tasks",
      [](const SliSnapshot& s) { return s.leak_score; });
  add("castellan_process_open_fds", "Open file descriptors",
      [](const SliSnapshot& s) { return static_cast<double>(s.open_fds); });
  add("castellan_process_resident_memory_bytes", "Resident set size",
      [](const SliSnapshot& s) { return static_cast<double>(s.rss_bytes); });
}

void HealthMonitor::start(TaskGroup& group, const boost::asio::any_io_executor& executor) {
  group.spawn(
      executor, "health sampler",
      [this](TaskRef self) -> boost::asio::awaitable<void> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
        for (;;) {
          sample();  // first at start: the SLIs (fds, RSS) are real from the moment it is ready
          timer.expires_after(options_.sample_interval);
          WaitMarker wait(self, "next health sample", WaitKind::kIdle);
          co_await timer.async_wait(boost::asio::use_awaitable);
        }
      },
      TaskOptions{.daemon = true});
}

}  // namespace castellan::runtime
