#include "devices/bridge.hpp"

#include <spdlog/spdlog.h>

#include "devices/topics.hpp"

namespace castellan::devices {

DeviceBridge::DeviceBridge(const Clock& clock, std::size_t max_payload_bytes,
                           const DoorDirectory& doors, SwipePipeline& swipes,
                           DoorStateTracker& door_states, HeartbeatMonitor& heartbeats,
                           TelemetryStore& telemetry, DeviceMetrics& metrics)
    : clock_(clock),
      max_payload_bytes_(max_payload_bytes),
      doors_(doors),
      swipes_(swipes),
      door_states_(door_states),
      heartbeats_(heartbeats),
      telemetry_(telemetry),
      metrics_(metrics) {}

void DeviceBridge::on_message(std::string_view topic, std::string_view payload,
                              bool retained) noexcept {
  try {
    if (retained) {
      metrics_.rejected(RejectReason::kRetained);
      spdlog::debug("ignored a retained message on {}", topic.substr(0, 256));
      return;
    }
    route(topic, payload);
  } catch (const std::exception& e) {
    // A bug, not bad input (bad input is a Result): keep the MQTT thread alive and say so.
    spdlog::error("device message on {} failed: {}", topic.substr(0, 256), e.what());
  }
}

void DeviceBridge::route(std::string_view topic, std::string_view payload) {
  auto parsed = parse_topic(topic);
  if (!parsed) {
    metrics_.rejected(RejectReason::kBadTopic);
    spdlog::debug("rejected message on bad topic: {}", parsed.error().message);
    return;
  }
  const ParsedTopic& t = *parsed;
  metrics_.message(t.kind);
  auto reject = [&](const PayloadError& e) {
    metrics_.rejected(e.reason);
    spdlog::debug("rejected {} from {}/{}: {}", topic_kind_name(t.kind), t.site, t.entity,
                  e.message);
  };
  switch (t.kind) {
    case TopicKind::kSwipe:
      swipes_.handle(t.site, t.entity, payload);
      return;
    case TopicKind::kState: {
      auto state = parse_door_state(payload, max_payload_bytes_);
      if (!state.ok()) return reject(*state.error);
      auto door = doors_.find(t.site, t.entity);
      if (!door) return reject(PayloadError{RejectReason::kUnknownDoor, "no such door"});
      door_states_.on_state(*door, *state.value);
      return;
    }
    case TopicKind::kHeartbeat: {
      auto hb = parse_heartbeat(payload, max_payload_bytes_);
      if (!hb.ok()) return reject(*hb.error);
      if (!heartbeats_.on_heartbeat(t.site, t.entity, *hb.value)) {
        reject(PayloadError{RejectReason::kCapacity, "device table full"});
      }
      return;
    }
    case TopicKind::kTelemetry: {
      auto tm = parse_telemetry(payload, max_payload_bytes_);
      if (!tm.ok()) return reject(*tm.error);
      if (!telemetry_.record(t.entity, *tm.value, clock_.now())) {
        reject(PayloadError{RejectReason::kCapacity, "telemetry table full"});
      }
      return;
    }
    case TopicKind::kStatus: {
      auto st = parse_status(payload, max_payload_bytes_);
      if (!st.ok()) return reject(*st.error);
      heartbeats_.on_status(t.site, t.entity, *st.value);
      return;
    }
  }
}

}  // namespace castellan::devices
