// TelemetryStore: the latest value of every (device, metric) plus a bounded history of recent
// samples, in memory only (served by GET /v1/devices/{id}). Bounded three ways: devices,
// metrics per device, samples per metric; a full table refuses new keys (a `capacity`
// rejection) and never evicts what an operator may be looking at. Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/time.hpp"
#include "devices/payloads.hpp"

namespace castellan::devices {

struct TelemetrySample {
  TimePoint ts{};
  double value = 0;
};

struct TelemetryLimits {
  std::size_t max_devices = 250'000;
  std::size_t max_metrics_per_device = 64;
  std::size_t history_per_metric = 60;
};

class TelemetryStore {
 public:
  explicit TelemetryStore(TelemetryLimits limits = {}) : limits_(limits) {}

  // Stores the message's metrics, stamped with its ts (or `received` when it has none).
  // False when a limit refused a new device or metric (the known ones are still stored).
  bool record(std::string_view device, const TelemetryPayload& payload, TimePoint received);

  // Latest value per metric, sorted by name; empty for an unknown device.
  std::map<std::string, TelemetrySample> latest(std::string_view device) const;
  // Every device with telemetry, in no particular order.
  std::vector<std::string> device_ids() const;
  // Oldest-first history of one metric.
  std::vector<TelemetrySample> history(std::string_view device, std::string_view metric) const;

 private:
  struct Series {
    std::deque<TelemetrySample> samples;  // newest at the back
  };
  using DeviceSeries = std::map<std::string, Series, std::less<>>;

  TelemetryLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, DeviceSeries> devices_;
};

}  // namespace castellan::devices
