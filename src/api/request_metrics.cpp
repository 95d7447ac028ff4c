#include "api/request_metrics.hpp"

#include <fmt/format.h>

namespace castellan::api {

void RequestMetrics::observe(std::string_view method, std::string_view route, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  auto it = series_.find(std::tuple{method, route, status});
  if (it == series_.end()) {
    it = series_.emplace(std::tuple{std::string(method), std::string(route), status}, Series{})
             .first;
  }
  auto& s = it->second;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++s.buckets[i];
  }
  ++s.count;
  s.sum += seconds;
}

std::string RequestMetrics::render() const {
  std::string out;
  out +=
      "# HELP castellan_http_requests_total HTTP API requests by method, route and status.\n"
      "# TYPE castellan_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [key, s] : series_) {
    const auto& [method, route, status] = key;
    out += fmt::format(
        "castellan_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n", method,
        route, status, s.count);
  }
  out +=
      "# HELP castellan_http_request_duration_seconds HTTP API request latency from parsed "
      "request to reply.\n"
      "# TYPE castellan_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : series_) {
    const auto& [method, route, status] = key;
    const auto labels =
        fmt::format("method=\"{}\",route=\"{}\",status=\"{}\"", method, route, status);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("castellan_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                         labels, kBuckets[i], s.buckets[i]);
    }
    out += fmt::format("castellan_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                       labels, s.count);
    out += fmt::format("castellan_http_request_duration_seconds_sum{{{}}} {}\n", labels, s.sum);
    out += fmt::format("castellan_http_request_duration_seconds_count{{{}}} {}\n", labels, s.count);
  }
  out += fmt::format(
      "# HELP castellan_http_connections_active Open HTTPS API connections.\n"
      "# TYPE castellan_http_connections_active gauge\n"
      "castellan_http_connections_active {}\n"
      "# HELP castellan_http_connections_refused_total Connections closed at accept because "
      "api.max_connections was reached.\n"
      "# TYPE castellan_http_connections_refused_total counter\n"
      "castellan_http_connections_refused_total {}\n",
      connections_.load(), refused_.load());
  return out;
}

}  // namespace castellan::api
