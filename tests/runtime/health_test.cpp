// Leak detector tests: time is a FakeClock moved by hand, samples are taken with sample(), the
// tasks are real (registered through TaskGroup / FaultInjector on a real IoPool).
#include "runtime/health.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/debug_json.hpp"
#include "runtime/faults.hpp"
#include "runtime/task_group.hpp"
#include "test_support.hpp"

namespace castellan::runtime {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

asio::awaitable<void> serve_forever() {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(24));
  co_await timer.async_wait(asio::use_awaitable);
}

struct HealthTest : ::testing::Test {
  FakeClock clock;
  TaskRegistry registry{clock};
  IoPool pool{2};
  TaskGroup service{registry, "service"};
  std::vector<LeakReport> fired;
  HealthMonitor monitor{registry, clock, HealthOptions{},
                        [this](const LeakReport& r) { fired.push_back(r); }};

  void SetUp() override {
    // A steady service: 5 long-lived request handlers and a daemon.
    for (int i = 0; i < 5; ++i) service.spawn(pool.executor(), "handler", serve_forever());
    service.spawn(pool.executor(), "flusher", serve_forever(), {.daemon = true});
  }
  void TearDown() override { ASSERT_TRUE(service.close_blocking(10s)); }

  // One sample per interval for `duration`.
  void run_for(std::chrono::seconds duration) {
    for (auto t = 0s; t < duration; t += 3s) {
      clock.advance(3s);
      monitor.sample();
    }
  }
  // Samples until a report arrives; returns the fake time it took (or `limit` + 1 s).
  std::chrono::seconds time_to_report(std::chrono::seconds limit) {
    const std::size_t before = fired.size();
    for (auto t = 3s; t <= limit; t += 3s) {
      clock.advance(3s);
      monitor.sample();
      if (fired.size() > before) return t;
    }
    return limit + 1s;
  }
  bool fired_kind(LeakKind kind) const {
    return std::any_of(fired.begin(), fired.end(), [&](const auto& r) { return r.kind == kind; });
  }
};

TEST_F(HealthTest, SteadyServiceDoesNotFire) {
  run_for(300s);
  EXPECT_TRUE(fired.empty());
  const auto sli = monitor.latest();
  EXPECT_EQ(sli.tasks_active, 6u);
  EXPECT_EQ(sli.tasks_non_daemon, 5u);
  EXPECT_EQ(sli.tasks_settled, 5u);
  EXPECT_DOUBLE_EQ(sli.tasks_active_ratio, 6.0);  // one worker thread in the default options
  EXPECT_NEAR(sli.leak_score, 0.0, 1e-9);
  EXPECT_NEAR(sli.leak_rate_per_hour, 0.0, 1e-6);
  EXPECT_TRUE(sli.window_full);
  EXPECT_GT(sli.open_fds, 0);
  EXPECT_GT(sli.rss_bytes, 0);
}

TEST_F(HealthTest, LeakedTasksAreCaughtByTheScoreRuleWithTheirSpawnSite) {
  run_for(60s);
  FaultInjector faults(registry, pool.executor());
  const int line = __LINE__ + 1;
  ASSERT_EQ(faults.leak_tasks(50), 50);
  const auto took = time_to_report(60s);
  RecordProperty("detected_after_s", static_cast<int>(took.count()));
  ASSERT_LE(took, 60s);
  ASSERT_EQ(fired.size(), 1u);
  const LeakReport& r = fired[0];
  EXPECT_EQ(r.kind, LeakKind::kTaskScore);
  const std::string site = "tests/runtime/health_test.cpp:" + std::to_string(line);
  EXPECT_NE(r.spawn_site.find(site), std::string::npos) << r.spawn_site;
  EXPECT_NE(r.message.find(site), std::string::npos) << r.message;
  EXPECT_GT(r.sli.leak_score, 2.5);
  // The dump groups by spawn site, largest first, with counts and ages.
  ASSERT_GE(r.sites.size(), 2u);
  EXPECT_NE(r.sites[0].spawn_site.find(site), std::string::npos);
  EXPECT_EQ(r.sites[0].count, 50u);
  EXPECT_EQ(r.sites[0].name, "fault: leaked task");
  EXPECT_DOUBLE_EQ(r.sites[0].oldest_age_s, static_cast<double>(took.count()));
  // Latched: no second report while the leak persists; re-armed once it clears.
  run_for(30s);
  EXPECT_EQ(fired.size(), 1u);
  faults.clear();
  ASSERT_TRUE(eventually([&] { return faults.leaked_tasks() == 0; }));
  run_for(90s);
  EXPECT_EQ(fired.size(), 1u);
}

// The smart-meter case: +2 tasks/minute. The score stays under 2.5; the rate rule fires.
TEST_F(HealthTest, SlowLeakIsCaughtByTheRateRule) {
  run_for(60s);
  FaultInjector faults(registry, pool.executor());
  const auto here = std::source_location::current();
  const std::size_t before = fired.size();
  std::chrono::seconds detected{0};
  double max_score = 0;
  for (auto t = 3s; t <= 120s; t += 3s) {
    if (t.count() % 30 == 3) {
      faults.leak_tasks(1, here);
    }
    clock.advance(3s);
    max_score = std::max(max_score, monitor.sample().leak_score);
    if (fired.size() > before && detected == 0s) detected = t;
  }
  ASSERT_FALSE(fired.empty());
  RecordProperty("detected_after_s", static_cast<int>(detected.count()));
  EXPECT_GT(detected, 0s);
  EXPECT_LE(detected, 60s);
  EXPECT_LT(max_score, 2.5);
  EXPECT_FALSE(fired_kind(LeakKind::kTaskScore));
  const LeakReport& r = fired.front();
  EXPECT_EQ(r.kind, LeakKind::kTaskRate);
  EXPECT_GT(r.sli.leak_rate_per_hour, 60.0);
  EXPECT_NE(r.spawn_site.find("tests/runtime/health_test.cpp:" + std::to_string(here.line())),
            std::string::npos)
      << r.spawn_site;
}

TEST_F(HealthTest, LeakedFdsAreCaught) {
  run_for(60s);
  FaultInjector faults(registry, pool.executor());
  ASSERT_EQ(faults.leak_fds(100), 100);
  ASSERT_LE(time_to_report(60s), 60s);
  ASSERT_EQ(fired.size(), 1u);
  const LeakReport& r = fired[0];
  EXPECT_EQ(r.kind, LeakKind::kFds);
  ASSERT_FALSE(r.fd_kinds.empty());
  EXPECT_EQ(r.fd_kinds[0].first, "/dev/null");
  EXPECT_GE(r.fd_kinds[0].second, 100);
  faults.clear();
  EXPECT_EQ(faults.leaked_fds(), 0u);
}

TEST_F(HealthTest, TaskStuckOnOneAwaitIsCaughtWithItsSpawnSite) {
  run_for(60s);
  FaultInjector faults(registry, pool.executor());
  const int line = __LINE__ + 1;
  faults.stuck_task(std::chrono::hours(1));
  ASSERT_TRUE(eventually([&] {
    auto t = registry.snapshot();
    return std::any_of(t.begin(), t.end(), [](const auto& i) {
      return !i.waiting_on.empty() && i.name == "fault: stuck task";
    });
  }));
  ASSERT_LE(time_to_report(60s), 60s);
  ASSERT_EQ(fired.size(), 1u);
  const LeakReport& r = fired[0];
  EXPECT_EQ(r.kind, LeakKind::kStuckTask);
  EXPECT_NE(r.spawn_site.find("tests/runtime/health_test.cpp:" + std::to_string(line)),
            std::string::npos)
      << r.spawn_site;
  EXPECT_NE(r.message.find("fault: stuck await"), std::string::npos) << r.message;
  EXPECT_GT(r.sli.blocked_p99_seconds, 30.0);
  run_for(30s);
  EXPECT_EQ(fired.size(), 1u);  // reported once per task
}

// A burst of 10,000 short tasks that finish must not fire, even when a sample sees them all.
TEST_F(HealthTest, BurstOfShortTasksDoesNotFire) {
  run_for(60s);
  using Gate = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  auto gate = std::make_shared<Gate>(pool.executor(), 0);
  TaskGroup burst(registry, "burst");
  for (int i = 0; i < 10000; ++i) {
    burst.spawn(pool.executor(), "short request", [gate](TaskRef) -> asio::awaitable<void> {
      co_await gate->async_receive(asio::as_tuple(asio::use_awaitable));
    });
  }
  // Two samples while all 10,000 are alive (younger than one sample interval).
  auto sli = monitor.sample();
  EXPECT_GE(sli.tasks_active, 10000u);
  EXPECT_EQ(sli.tasks_settled, 5u);
  clock.advance(2s);
  monitor.sample();
  gate->close();  // they all finish
  ASSERT_TRUE(eventually([&] { return burst.size() == 0; }));
  run_for(120s);
  EXPECT_TRUE(fired.empty());
}

// The other side of the persistence rule: settled growth seen on fewer than 3 samples in a
// row does not fire; on 3 it does.
TEST_F(HealthTest, ScoreMustPersistForConsecutiveSamples) {
  run_for(60s);
  {
    TaskGroup spike(registry, "spike");
    for (int i = 0; i < 40; ++i) spike.spawn(pool.executor(), "spike", serve_forever());
    clock.advance(3s);
    EXPECT_GT(monitor.sample().leak_score, 2.5);
    clock.advance(3s);
    EXPECT_GT(monitor.sample().leak_score, 2.5);
    ASSERT_TRUE(spike.close_blocking(10s));
  }
  run_for(60s);
  EXPECT_TRUE(fired.empty());
  TaskGroup leak(registry, "leak");
  for (int i = 0; i < 40; ++i) leak.spawn(pool.executor(), "leak", serve_forever());
  run_for(9s);
  EXPECT_EQ(fired.size(), 1u);
  ASSERT_TRUE(leak.close_blocking(10s));
}

// A leak that goes on growing breaches the score rule first and the rate rule once the window
// holds the ramp: one leak, one report.
TEST_F(HealthTest, ALeakThatKeepsGrowingIsReportedOnce) {
  run_for(60s);
  FaultInjector faults(registry, pool.executor());
  ASSERT_EQ(faults.leak_tasks(20), 20);
  for (auto t = 3s; t <= 180s; t += 3s) {
    if (t.count() % 6 == 0) faults.leak_tasks(3);
    clock.advance(3s);
    monitor.sample();
  }
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, LeakKind::kTaskScore);
  EXPECT_GT(monitor.latest().leak_rate_per_hour, 60.0) << "the rate rule's condition held too";
  // Once the leaked tasks are gone, the next leak is a new incident.
  faults.clear();
  ASSERT_TRUE(eventually([&] { return faults.leaked_tasks() == 0; }));
  run_for(90s);
  ASSERT_EQ(faults.leak_tasks(40), 40);
  run_for(15s);
  EXPECT_EQ(fired.size(), 2u);
  faults.clear();
  ASSERT_TRUE(eventually([&] { return faults.leaked_tasks() == 0; }));
}

// On a quiet server the mean is near 0, so a handful of long-lived tasks (operators opening
// the event stream) scores above 2.5 by the ratio alone; the floor of leak_score_min_growth
// (10) keeps that from being reported. A leak of more still is.
TEST(HealthQuietServer, AFewLongLivedTasksAreNotALeakManyAre) {
  FakeClock clock;
  TaskRegistry registry{clock};
  IoPool pool{2};
  std::vector<LeakReport> fired;
  HealthMonitor monitor{registry, clock, HealthOptions{},
                        [&](const LeakReport& r) { fired.push_back(r); }};
  double max_score = 0;
  auto run_for = [&](std::chrono::seconds duration) {
    for (auto t = 0s; t < duration; t += 3s) {
      clock.advance(3s);
      max_score = std::max(max_score, monitor.sample().leak_score);
    }
  };
  run_for(60s);
  TaskGroup streams(registry, "streams");
  for (int i = 0; i < 9; ++i) streams.spawn(pool.executor(), "sse stream", serve_forever());
  run_for(60s);
  EXPECT_GT(max_score, 2.5) << "the ratio alone is above the threshold";
  EXPECT_TRUE(fired.empty());
  TaskGroup leak(registry, "leak");
  for (int i = 0; i < 40; ++i) leak.spawn(pool.executor(), "leak", serve_forever());
  run_for(15s);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, LeakKind::kTaskScore);
  ASSERT_TRUE(leak.close_blocking(10s));
  ASSERT_TRUE(streams.close_blocking(10s));
}

TEST_F(HealthTest, NoScoreBeforeHalfAWindowOfHistory) {
  TaskGroup early(registry, "startup");
  for (int i = 0; i < 40; ++i) early.spawn(pool.executor(), "conn", serve_forever());
  run_for(24s);  // 8 samples: fewer than the 10 a score needs
  EXPECT_DOUBLE_EQ(monitor.latest().leak_score, 0.0);
  EXPECT_TRUE(fired.empty());
  ASSERT_TRUE(early.close_blocking(10s));
}

TEST_F(HealthTest, MetricsAndJson) {
  MetricsRegistry metrics;
  monitor.register_metrics(metrics);
  run_for(9s);
  const std::string text = metrics.render();
  for (const char* name :
       {"castellan_tasks_active 6", "castellan_tasks_active_ratio 6",
        "castellan_tasks_blocked_p99_seconds 0", "castellan_task_leak_rate_per_hour",
        "castellan_task_leak_score", "castellan_process_open_fds",
        "castellan_process_resident_memory_bytes"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
  auto sli = sli_json(monitor.latest(), monitor.options());
  EXPECT_EQ(sli.at("tasks_active").as_uint64(), 6u);
  EXPECT_EQ(sli.at("thresholds").at("leak_score").as_double(), 2.5);
  EXPECT_EQ(sli.at("window_s").as_int64(), 60);
  auto tasks = tasks_json(registry);
  EXPECT_EQ(tasks.at("count").as_uint64(), 6u);
  const auto& first = tasks.at("tasks").as_array().at(0).as_object();
  EXPECT_EQ(first.at("state").as_string(), "running");
  EXPECT_DOUBLE_EQ(first.at("age_s").as_double(), 9.0);
  EXPECT_NE(first.at("spawn_site").as_string().find("health_test.cpp"), std::string::npos);
  const auto& by_site = tasks.at("by_site").as_array();
  EXPECT_EQ(by_site.at(0).at("count").as_uint64(), 5u);
  EXPECT_EQ(by_site.at(0).at("name").as_string(), "handler");
}

// The first sample is taken at start, not one interval later: /metrics never shows the -1 of
// "not sampled yet" while the server says it is ready.
TEST_F(HealthTest, TheSamplerSamplesAtOnceWhenStarted) {
  HealthOptions o;
  o.sample_interval = std::chrono::hours(1);
  HealthMonitor live(registry, clock, o);
  EXPECT_EQ(live.latest().open_fds, -1) << "nothing sampled yet";
  TaskGroup runtime_group(registry, "runtime");
  live.start(runtime_group, pool.executor());
  EXPECT_TRUE(eventually([&] { return live.latest().open_fds > 0; }));
  EXPECT_GT(live.latest().rss_bytes, 0);
  ASSERT_TRUE(runtime_group.close_blocking(10s));
}

TEST_F(HealthTest, PeriodicSamplerIsADaemonOfItsGroup) {
  HealthOptions o;
  o.sample_interval = 1ms;
  HealthMonitor live(registry, clock, o);
  TaskGroup runtime_group(registry, "runtime");
  live.start(runtime_group, pool.executor());
  ASSERT_TRUE(eventually([&] { return live.latest().tasks_active == 7; }));
  auto tasks = registry.snapshot();
  auto it = std::find_if(tasks.begin(), tasks.end(),
                         [](const auto& t) { return t.name == "health sampler"; });
  ASSERT_NE(it, tasks.end());
  EXPECT_TRUE(it->daemon);
  ASSERT_TRUE(runtime_group.close_blocking(10s));
}

}  // namespace
}  // namespace castellan::runtime

namespace castellan::runtime {
namespace {

TEST(HealthOptionsTest, FromConfig) {
  Config c;
  c.server.threads = 4;
  c.runtime.leak_sample_ms = 1000;
  c.runtime.leak_window_s = 30;
  c.runtime.leak_score_threshold = 3;
  c.runtime.leak_rate_per_hour_threshold = 100;
  c.runtime.leak_fd_growth_threshold = 10;
  c.runtime.stuck_task_s = 5;
  const auto o = HealthOptions::from_config(c);
  EXPECT_EQ(o.sample_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(o.window, std::chrono::seconds(30));
  EXPECT_EQ(o.score_threshold, 3);
  EXPECT_EQ(o.rate_threshold_per_hour, 100);
  EXPECT_EQ(o.fd_growth_threshold, 10);
  EXPECT_EQ(o.stuck_after, std::chrono::seconds(5));
  EXPECT_EQ(o.worker_threads, 4);
}

}  // namespace
}  // namespace castellan::runtime
