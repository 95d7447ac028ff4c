#include "devices/heartbeat_monitor.hpp"

#include <algorithm>

namespace castellan::devices {
namespace {
// Enough slots that an 8 s deadline needs no extra revolution at 100 ms ticks.
constexpr std::size_t kWheelSlots = 256;
}  // namespace

std::string_view liveness_name(DeviceLiveness s) {
  switch (s) {
    case DeviceLiveness::kOnline:
      return "online";
    case DeviceLiveness::kOffline:
      return "offline";
    case DeviceLiveness::kUnknown:
      return "unknown";
  }
  return "unknown";
}

HeartbeatMonitor::HeartbeatMonitor(const Clock& clock, HeartbeatOptions options,
                                   TransitionSink sink)
    : clock_(clock),
      options_(options),
      sink_(std::move(sink)),
      wheel_(options.tick, kWheelSlots, clock.monotonic()) {}

bool HeartbeatMonitor::on_heartbeat(std::string_view site, std::string_view device,
                                    const HeartbeatPayload& hb) {
  std::vector<DeviceTransition> out;
  {
    std::lock_guard lock(mu_);
    auto mono = clock_.monotonic();
    auto now = clock_.now();
    auto it = index_.find(device);
    std::uint32_t idx;
    if (it == index_.end()) {
      if (records_.size() >= options_.max_devices) return false;
      idx = static_cast<std::uint32_t>(records_.size());
      records_.push_back(Record{std::string(device), std::string(site)});
      index_.emplace(std::string(device), idx);
    } else {
      idx = it->second;
    }
    Record& r = records_[idx];
    if (r.site != site) r.site = std::string(site);
    r.deadline = mono + options_.offline_after;
    r.last_heartbeat = now;
    if (!hb.fw.empty()) r.fw = hb.fw;
    if (hb.uptime_s) r.uptime_s = hb.uptime_s;
    if (!r.scheduled) {
      wheel_.schedule(idx, r.deadline);
      r.scheduled = true;
    }
    if (r.status != DeviceLiveness::kOnline) {
      r.status = DeviceLiveness::kOnline;
      ++online_;
      out.push_back(DeviceTransition{r.site, r.id, true, "heartbeat", now, r.last_heartbeat});
    }
    emit(out);
  }
  return true;
}

void HeartbeatMonitor::on_status(std::string_view site, std::string_view device,
                                 DeviceStatus status) {
  // "online" on the status topic is informational: a device becomes online by heartbeating.
  if (status != DeviceStatus::kOffline) return;
  std::vector<DeviceTransition> out;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(device);
    if (it == index_.end()) return;  // never seen: nothing to take offline
    Record& r = records_[it->second];
    if (r.site != site) return;  // another site's device of the same id: not this one's will
    if (r.status == DeviceLiveness::kOnline) {
      r.status = DeviceLiveness::kOffline;
      --online_;
      out.push_back(
          DeviceTransition{r.site, r.id, false, "last_will", clock_.now(), r.last_heartbeat});
    }
    emit(out);
  }
}

void HeartbeatMonitor::tick() {
  std::vector<DeviceTransition> out;
  {
    std::lock_guard lock(mu_);
    auto mono = clock_.monotonic();
    auto now = clock_.now();
    wheel_.advance(mono, [&](std::uint32_t idx) {
      Record& r = records_[idx];
      r.scheduled = false;
      if (r.status != DeviceLiveness::kOnline) return;  // already offline (last will)
      if (r.deadline > mono) {
        // Heartbeats arrived since this entry was scheduled: wait for the new deadline.
        wheel_.schedule(idx, r.deadline);
        r.scheduled = true;
        return;
      }
      r.status = DeviceLiveness::kOffline;
      --online_;
      out.push_back(DeviceTransition{r.site, r.id, false, "timeout", now, r.last_heartbeat});
    });
    emit(out);
  }
}

void HeartbeatMonitor::emit(std::vector<DeviceTransition>& out) {
  if (!sink_) return;
  for (const auto& t : out) sink_(t);
}

DeviceSummary HeartbeatMonitor::summary(const Record& r) const {
  return DeviceSummary{r.id, r.site, r.status, r.last_heartbeat, r.fw, r.uptime_s};
}

std::optional<DeviceSummary> HeartbeatMonitor::device(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return summary(records_[it->second]);
}

std::vector<DeviceSummary> HeartbeatMonitor::devices() const {
  std::vector<DeviceSummary> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(records_.size());
    for (const auto& r : records_) out.push_back(summary(r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::size_t HeartbeatMonitor::online_count() const {
  std::lock_guard lock(mu_);
  return online_;
}

std::size_t HeartbeatMonitor::device_count() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace castellan::devices
