#include "runtime/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

namespace castellan::runtime {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistogramsInTextFormat) {
  MetricsRegistry m;
  m.counter("castellan_swipes_total", "Swipes decided", {{"result", "grant"}}).inc(3);
  m.counter("castellan_swipes_total", "Swipes decided", {{"result", "deny"}}).inc();
  m.gauge("castellan_devices_online", "Devices online").set(2.5);
  auto& h = m.histogram("castellan_decision_seconds", "Decision latency", {0.001, 0.01});
  h.observe(0.0005);
  h.observe(0.001);  // le is inclusive
  h.observe(0.5);
  const std::string expected =
      "# HELP castellan_decision_seconds Decision latency\n"
      "# TYPE castellan_decision_seconds histogram\n"
      "castellan_decision_seconds_bucket{le=\"0.001\"} 2\n"
      "castellan_decision_seconds_bucket{le=\"0.01\"} 2\n"
      "castellan_decision_seconds_bucket{le=\"+Inf\"} 3\n"
      "castellan_decision_seconds_sum 0.5015\n"
      "castellan_decision_seconds_count 3\n"
      "# HELP castellan_devices_online Devices online\n"
      "# TYPE castellan_devices_online gauge\n"
      "castellan_devices_online 2.5\n"
      "# HELP castellan_swipes_total Swipes decided\n"
      "# TYPE castellan_swipes_total counter\n"
      "castellan_swipes_total{result=\"deny\"} 1\n"
      "castellan_swipes_total{result=\"grant\"} 3\n";
  EXPECT_EQ(m.render(), expected);
}

TEST(MetricsTest, SameNameAndLabelsGiveTheSameObject) {
  MetricsRegistry m;
  auto& a = m.counter("x_total", "X", {{"b", "1"}, {"a", "2"}});
  auto& b = m.counter("x_total", "X", {{"a", "2"}, {"b", "1"}});
  EXPECT_EQ(&a, &b);
  auto& c = m.counter("x_total", "X", {{"a", "3"}, {"b", "1"}});
  EXPECT_NE(&a, &c);
}

TEST(MetricsTest, RejectsNamesAndRegistrationsPrometheusWouldNot) {
  MetricsRegistry m;
  EXPECT_THROW(m.counter("requests", "no _total"), std::invalid_argument);
  EXPECT_THROW(m.gauge("queue_total", "gauge with _total"), std::invalid_argument);
  EXPECT_THROW(m.gauge("9lives", "bad first char"), std::invalid_argument);
  EXPECT_THROW(m.gauge("a-b", "dash"), std::invalid_argument);
  EXPECT_THROW(m.gauge("ok", "bad label", {{"__x", "1"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("ok", "bad label", {{"a.b", "1"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("ok", "le label", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("ok", "dup", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("latency_sum", "reserved suffix"), std::invalid_argument);
  m.gauge("ok", "help", {{"a", "1"}});
  EXPECT_THROW(m.counter("ok", "help"), std::invalid_argument);  // other type
  EXPECT_THROW(m.gauge("ok", "other help", {{"a", "1"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("ok", "help", {{"b", "1"}}), std::invalid_argument);  // other labels
  EXPECT_THROW(m.histogram("h", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(m.histogram("h", "h", {1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("line1\nback\\slash \"quoted\""), "line1\\nback\\\\slash \"quoted\"");
  MetricsRegistry m;
  m.gauge("g", "multi\nline", {{"door", "say \"hi\""}}).set(1);
  EXPECT_EQ(m.render(), "# HELP g multi\\nline\n# TYPE g gauge\ng{door=\"say \\\"hi\\\"\"} 1\n");
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(1e21), "1e+21");
  EXPECT_EQ(format_metric_value(-3), "-3");
}

TEST(MetricsTest, CallbackGaugesLastAsLongAsTheirHandle) {
  MetricsRegistry m;
  double value = 7;
  {
    auto handle =
        m.callback_gauge("castellan_tasks_active", "Live tasks", {}, [&] { return value; });
    EXPECT_EQ(m.render(),
              "# HELP castellan_tasks_active Live tasks\n# TYPE castellan_tasks_active gauge\n"
              "castellan_tasks_active 7\n");
    value = 8;
    EXPECT_NE(m.render().find("castellan_tasks_active 8\n"), std::string::npos);
    auto moved = std::move(handle);
    EXPECT_NE(m.render().find("castellan_tasks_active 8\n"), std::string::npos);
  }
  EXPECT_EQ(m.render(), "");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry m;
  auto& c = m.counter("hits_total", "Hits");
  auto& h = m.histogram("lat_seconds", "Latency", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
        (void)m.counter("hits_total", "Hits");
      }
    });
  }
  std::string last;
  for (int i = 0; i < 50; ++i) last = m.render();  // rendering while updating
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000);
}

// The whole exposition, with every kind of metric and awkward label values, passes promtool.
TEST(MetricsTest, RenderPassesPromtoolCheckMetrics) {
  const char* promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) {
    GTEST_SKIP() << "promtool not installed at " << promtool
                 << " (Debian package 'prometheus'); cannot validate the exposition format";
  }
  MetricsRegistry m;
  m.counter("castellan_swipes_total", "Swipes decided, by result", {{"result", "grant"}}).inc(5);
  m.counter("castellan_swipes_total", "Swipes decided, by result", {{"result", "deny"}});
  m.gauge("castellan_devices_online", "Devices currently online").set(3);
  m.gauge("castellan_door_state", "Door state with \"quotes\" and a \\ backslash",
          {{"door", "main \"entrance\"\nline2 \\"}})
      .set(1);
  auto& h = m.histogram("castellan_decision_duration_seconds", "Decision latency",
                        latency_buckets_seconds(), {{"source", "mqtt"}});
  for (double v : {0.00001, 0.0003, 0.002, 0.7, 30.0}) h.observe(v);
  m.histogram("castellan_decision_duration_seconds", "Decision latency", latency_buckets_seconds(),
              {{"source", "api"}});
  auto cb =
      m.callback_gauge("castellan_tasks_active", "Live registered tasks", {}, [] { return 12.0; });
  m.gauge("castellan_weird_values", "Infinite and NaN values", {{"v", "inf"}})
      .set(std::numeric_limits<double>::infinity());
  m.gauge("castellan_weird_values", "Infinite and NaN values", {{"v", "nan"}}).set(std::nan(""));

  auto check = [&](const std::string& text, int* status) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("castellan_metrics_" + std::to_string(::getpid()) + ".txt");
    {
      std::ofstream out(path);
      out << text;
    }
    const std::string cmd = std::string(promtool) + " check metrics < " + path.string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string output;
    char buf[512];
    while (p && std::fgets(buf, sizeof buf, p)) output += buf;
    *status = p ? ::pclose(p) : -1;
    std::filesystem::remove(path);
    return output;
  };
  int status = -1;
  // Control: promtool does reject what the registry refuses to produce.
  const std::string bad =
      check("# HELP requests Requests\n# TYPE requests counter\nrequests 1\n", &status);
  EXPECT_NE(status, 0) << bad;
  EXPECT_NE(bad.find("_total"), std::string::npos) << bad;
  const std::string output = check(m.render(), &status);
  EXPECT_EQ(status, 0) << output << "\n--- exposition ---\n" << m.render();
  EXPECT_EQ(output, "") << output;
}

}  // namespace
}  // namespace castellan::runtime
