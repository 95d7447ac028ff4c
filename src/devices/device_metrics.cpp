#include "devices/device_metrics.hpp"

#include <string>

namespace castellan::devices {
namespace {
constexpr Code kDecisionCodes[] = {
    Code::OK,
    Code::ERR_BAD_REQUEST,
    Code::ERR_CARD_EXPIRED,
    Code::ERR_CARD_NOT_YET_VALID,
    Code::ERR_CARD_REVOKED,
    Code::ERR_CARD_UNKNOWN,
    Code::ERR_NO_ACCESS,
    Code::ERR_OUTSIDE_SCHEDULE,
    Code::ERR_ANTI_PASSBACK,
    Code::ERR_PASS_EXHAUSTED,
    Code::ERR_DOOR_LOCKDOWN,
    Code::ERR_USER_SUSPENDED,
    Code::ERR_DOOR_UNKNOWN,
    Code::ERR_RATE_LIMITED,
    Code::ERR_UNAVAILABLE,
    Code::ERR_TIMEOUT,
};
constexpr TopicKind kKinds[] = {TopicKind::kSwipe, TopicKind::kState, TopicKind::kHeartbeat,
                                TopicKind::kTelemetry, TopicKind::kStatus};
}  // namespace

DeviceMetrics::DeviceMetrics(runtime::MetricsRegistry& registry)
    : duplicates_(registry.counter("castellan_mqtt_duplicates_total",
                                   "Swipes answered from the de-duplication table")),
      publish_failures_(registry.counter("castellan_mqtt_publish_failures_total",
                                         "Decisions and commands the MQTT client refused to send")),
      latency_(registry.histogram("castellan_decision_latency_seconds",
                                  "Swipe received to decision published",
                                  runtime::latency_buckets_seconds())),
      online_(registry.gauge("castellan_devices_online", "Devices currently online")) {
  for (TopicKind k : kKinds) {
    messages_[k] = &registry.counter("castellan_mqtt_messages_total",
                                     "MQTT messages received on a well-formed topic",
                                     {{"topic_kind", std::string(topic_kind_name(k))}});
  }
  for (RejectReason r : all_reject_reasons()) {
    rejected_[r] =
        &registry.counter("castellan_mqtt_rejected_total", "MQTT messages rejected, by reason",
                          {{"reason", std::string(reject_reason_name(r))}});
  }
  for (Code c : kDecisionCodes) {
    decisions_[c] = &registry.counter("castellan_decisions_total", "Swipe decisions published",
                                      {{"code", std::to_string(static_cast<int>(c))}});
  }
}

void DeviceMetrics::message(TopicKind kind) {
  messages_.at(kind)->inc();
}

void DeviceMetrics::rejected(RejectReason reason) {
  rejected_.at(reason)->inc();
}

void DeviceMetrics::decision(Code code, double latency_seconds) {
  auto it = decisions_.find(code);
  if (it != decisions_.end()) it->second->inc();
  latency_.observe(latency_seconds);
}

double DeviceMetrics::rejected_count(RejectReason reason) const {
  return rejected_.at(reason)->value();
}

double DeviceMetrics::decision_count(Code code) const {
  auto it = decisions_.find(code);
  return it == decisions_.end() ? 0.0 : it->second->value();
}

}  // namespace castellan::devices
