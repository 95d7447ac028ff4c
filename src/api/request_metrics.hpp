// HTTP request counts and latency histograms per (method, route pattern, status), rendered
// in the Prometheus text format next to the runtime's registry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace castellan::api {

class RequestMetrics {
 public:
  void observe(std::string_view method, std::string_view route, int status, double seconds);
  void connection_opened() { connections_.fetch_add(1); }
  void connection_closed() { connections_.fetch_sub(1); }
  void connection_refused() { refused_.fetch_add(1); }
  std::int64_t connections() const { return connections_.load(); }
  std::string render() const;

  static constexpr std::array<double, 12> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

 private:
  struct Series {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  // std::less<>: found by (string_view, string_view, int) without building strings.
  std::map<std::tuple<std::string, std::string, int>, Series, std::less<>> series_;
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace castellan::api
