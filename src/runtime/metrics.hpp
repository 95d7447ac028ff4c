// A small Prometheus registry (Debian has no C++ client): counters, gauges, histograms with
// fixed buckets, each with label sets, plus callback gauges read at render time. render()
// writes the text exposition format 0.0.4 that `promtool check metrics` accepts.
//
//   auto& swipes = metrics.counter("castellan_swipes_total", "Swipes decided", {{"result",
//   "grant"}}); swipes.inc();
//
// Rules enforced at registration (a violation is a programming error: std::invalid_argument):
// metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
// start with "__" ("le" is reserved for histograms), counters end in "_total", one name has
// one type, help and label-name set. Asking again for the same name and label values returns
// the same object, so modules can look their metrics up once and keep the reference.
// Updates are lock-free atomics; registration and render() take a mutex.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace castellan::runtime {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds, strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound plus the +Inf bucket last, the sum and the count.
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// Default latency buckets in seconds: 50 µs .. 10 s.
std::vector<double> latency_buckets_seconds();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});

  struct Core;  // families and their lock, shared with CallbackHandles

  // A gauge whose value is read by calling `read` during render() (with the registry's lock
  // held: `read` must not register metrics). The registration lasts as long as the returned
  // handle; the handle may outlive the registry.
  class CallbackHandle {
   public:
    CallbackHandle() = default;
    CallbackHandle(std::weak_ptr<Core> core, std::uint64_t id) : core_(std::move(core)), id_(id) {}
    CallbackHandle(CallbackHandle&& other) noexcept = default;
    CallbackHandle& operator=(CallbackHandle&& other) noexcept;
    ~CallbackHandle();

   private:
    void release();
    std::weak_ptr<Core> core_;
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] CallbackHandle callback_gauge(const std::string& name, const std::string& help,
                                              const Labels& labels, std::function<double()> read);

  // The text exposition format, families sorted by name.
  std::string render() const;

 private:
  std::shared_ptr<Core> core_;
};

// Escaping of the text format, exposed for tests: label values escape \ " and newline; help
// text escapes \ and newline.
std::string escape_label_value(const std::string& value);
std::string escape_help(const std::string& help);
// A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string format_metric_value(double v);

}  // namespace castellan::runtime
