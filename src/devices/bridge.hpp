// DeviceBridge: the entry point for every incoming device message. It parses the topic,
// counts the message, and routes it: swipes to the SwipePipeline, door states to the
// DoorStateTracker, heartbeats and last wills to the HeartbeatMonitor, telemetry to the
// TelemetryStore. Rejections are counted in castellan_mqtt_rejected_total{reason} and logged
// at debug level (a flood of garbage must not flood the log). Never throws, never blocks.
#pragma once

#include <string_view>

#include "core/clock.hpp"
#include "devices/device_metrics.hpp"
#include "devices/door_state.hpp"
#include "devices/heartbeat_monitor.hpp"
#include "devices/ports.hpp"
#include "devices/swipe_pipeline.hpp"
#include "devices/telemetry.hpp"

namespace castellan::devices {

class DeviceBridge {
 public:
  DeviceBridge(const Clock& clock, std::size_t max_payload_bytes, const DoorDirectory& doors,
               SwipePipeline& swipes, DoorStateTracker& door_states, HeartbeatMonitor& heartbeats,
               TelemetryStore& telemetry, DeviceMetrics& metrics);

  // The MqttClient message handler.
  // A retained message is a replay of something old (a stale swipe would be decided, and
  // journaled, again after every reconnect): it is counted as rejected ("retained") and ignored.
  void on_message(std::string_view topic, std::string_view payload, bool retained = false) noexcept;

 private:
  void route(std::string_view topic, std::string_view payload);

  const Clock& clock_;
  std::size_t max_payload_bytes_;
  const DoorDirectory& doors_;
  SwipePipeline& swipes_;
  DoorStateTracker& door_states_;
  HeartbeatMonitor& heartbeats_;
  TelemetryStore& telemetry_;
  DeviceMetrics& metrics_;
};

}  // namespace castellan::devices
