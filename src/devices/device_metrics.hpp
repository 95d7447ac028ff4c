// The device side's metrics, registered once in the runtime registry (contract §3, §7):
//   castellan_mqtt_messages_total{topic_kind}     every message on a well-formed topic
//   castellan_mqtt_rejected_total{reason}         see RejectReason (payloads.hpp)
//   castellan_mqtt_duplicates_total               swipes answered from the de-duplication table
//   castellan_mqtt_publish_failures_total         decisions/commands the client refused to send
//   castellan_decisions_total{code}               published swipe decisions by code
//   castellan_decision_latency_seconds            swipe received -> decision published
//   castellan_devices_online                      devices currently online
#pragma once

#include <map>

#include "core/codes.hpp"
#include "devices/payloads.hpp"
#include "devices/topics.hpp"
#include "runtime/metrics.hpp"

namespace castellan::devices {

class DeviceMetrics {
 public:
  explicit DeviceMetrics(runtime::MetricsRegistry& registry);

  void message(TopicKind kind);
  void rejected(RejectReason reason);
  void duplicate() { duplicates_.inc(); }
  void publish_failed() { publish_failures_.inc(); }
  void decision(Code code, double latency_seconds);
  void devices_online(std::size_t n) { online_.set(static_cast<double>(n)); }

  double rejected_count(RejectReason reason) const;
  double decision_count(Code code) const;
  double duplicate_count() const { return duplicates_.value(); }

 private:
  std::map<TopicKind, runtime::Counter*> messages_;
  std::map<RejectReason, runtime::Counter*> rejected_;
  std::map<Code, runtime::Counter*> decisions_;
  runtime::Counter& duplicates_;
  runtime::Counter& publish_failures_;
  runtime::Histogram& latency_;
  runtime::Gauge& online_;
};

}  // namespace castellan::devices
