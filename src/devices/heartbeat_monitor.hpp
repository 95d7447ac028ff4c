// HeartbeatMonitor: which devices are online (contract §3).
//
// A device is online while heartbeats arrive and goes offline `offline_after` (8 s) after its
// last heartbeat, or at once on its last will (`status` = offline). Each transition is handed
// to the TransitionSink (which journals it and updates the devices-online gauge).
//
// Scale: one hashed timing wheel (100 ms ticks) for all devices, driven by tick() from one
// task; a heartbeat only stores the new deadline in the device's record (no timer per
// heartbeat). When a device's wheel entry fires, the monitor compares against the stored
// deadline: passed → offline; moved on by later heartbeats → re-scheduled once. So each
// device costs at most one wheel insertion per `offline_after`, whatever its heartbeat rate.
// Detection delay = [0, one tick) + the driver's lateness.
//
// Thread-safe (one mutex). The sink runs under that mutex so that transitions reach it in
// order: it must be short, must not block and must not call back into the monitor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "devices/payloads.hpp"
#include "devices/timing_wheel.hpp"

namespace castellan::devices {

enum class DeviceLiveness { kUnknown, kOnline, kOffline };
std::string_view liveness_name(DeviceLiveness s);  // "unknown" | "online" | "offline"

struct DeviceTransition {
  std::string site;
  std::string device;
  bool online = false;
  std::string reason;  // "heartbeat", "timeout", "last_will", "status"
  TimePoint at{};      // when the transition was detected (wall clock)
  std::optional<TimePoint> last_heartbeat;
};

struct DeviceSummary {
  std::string id;
  std::string site;
  DeviceLiveness status = DeviceLiveness::kUnknown;
  std::optional<TimePoint> last_heartbeat;
  std::string fw;
  std::optional<std::int64_t> uptime_s;
};

struct HeartbeatOptions {
  std::chrono::milliseconds offline_after{8000};
  std::chrono::milliseconds tick{100};
  std::size_t max_devices = 250'000;
};

class HeartbeatMonitor {
 public:
  using TransitionSink = std::function<void(const DeviceTransition&)>;

  HeartbeatMonitor(const Clock& clock, HeartbeatOptions options, TransitionSink sink);

  // Records a heartbeat now. False when the device table is full (a `capacity` rejection).
  bool on_heartbeat(std::string_view site, std::string_view device, const HeartbeatPayload& hb);
  // The device's last will / status message.
  void on_status(std::string_view site, std::string_view device, DeviceStatus status);

  // Advances the wheel to clock.monotonic(); emits the offline transitions that came due.
  void tick();

  std::optional<DeviceSummary> device(std::string_view id) const;
  std::vector<DeviceSummary> devices() const;  // sorted by id
  std::size_t online_count() const;
  std::size_t device_count() const;
  const HeartbeatOptions& options() const { return options_; }

 private:
  struct Record {
    std::string id;
    std::string site;
    DeviceLiveness status = DeviceLiveness::kUnknown;
    Clock::Monotonic deadline{};
    std::optional<TimePoint> last_heartbeat;
    std::string fw;
    std::optional<std::int64_t> uptime_s;
    bool scheduled = false;
  };
  DeviceSummary summary(const Record& r) const;
  void emit(std::vector<DeviceTransition>& out);

  const Clock& clock_;
  HeartbeatOptions options_;
  TransitionSink sink_;
  mutable std::mutex mu_;
  std::vector<Record> records_;
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Transparent: a heartbeat looks its device up without building a std::string.
  std::unordered_map<std::string, std::uint32_t, IdHash, std::equal_to<>> index_;
  TimingWheel wheel_;
  std::size_t online_ = 0;
};

}  // namespace castellan::devices
