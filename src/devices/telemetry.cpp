#include "devices/telemetry.hpp"

namespace castellan::devices {

bool TelemetryStore::record(std::string_view device, const TelemetryPayload& payload,
                            TimePoint received) {
  TimePoint ts = payload.ts.value_or(received);
  std::lock_guard lock(mu_);
  auto it = devices_.find(std::string(device));
  if (it == devices_.end()) {
    if (devices_.size() >= limits_.max_devices) return false;
    it = devices_.emplace(std::string(device), DeviceSeries{}).first;
  }
  bool all_stored = true;
  for (const auto& [name, value] : payload.metrics) {
    auto series = it->second.find(name);
    if (series == it->second.end()) {
      if (it->second.size() >= limits_.max_metrics_per_device) {
        all_stored = false;
        continue;
      }
      series = it->second.emplace(name, Series{}).first;
    }
    auto& samples = series->second.samples;
    samples.push_back(TelemetrySample{ts, value});
    while (samples.size() > limits_.history_per_metric) samples.pop_front();
  }
  return all_stored;
}

std::map<std::string, TelemetrySample> TelemetryStore::latest(std::string_view device) const {
  std::map<std::string, TelemetrySample> out;
  std::lock_guard lock(mu_);
  auto it = devices_.find(std::string(device));
  if (it == devices_.end()) return out;
  for (const auto& [name, series] : it->second) {
    if (!series.samples.empty()) out.emplace(name, series.samples.back());
  }
  return out;
}

std::vector<TelemetrySample> TelemetryStore::history(std::string_view device,
                                                     std::string_view metric) const {
  std::lock_guard lock(mu_);
  auto it = devices_.find(std::string(device));
  if (it == devices_.end()) return {};
  auto series = it->second.find(metric);
  if (series == it->second.end()) return {};
  return {series->second.samples.begin(), series->second.samples.end()};
}

std::vector<std::string> TelemetryStore::device_ids() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(devices_.size());
  for (const auto& [id, series] : devices_) ids.push_back(id);
  return ids;
}

}  // namespace castellan::devices
