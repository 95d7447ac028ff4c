// Topic codec for the MQTT device protocol (contract §3). Topic root: castellan/v1/{site}.
//
// Incoming (controller/sensor → castellan):
//   castellan/v1/{site}/doors/{door}/swipe|state
//   castellan/v1/{site}/devices/{device}/heartbeat|telemetry|status
// Outgoing (castellan → controller):
//   castellan/v1/{site}/doors/{door}/decision|command
// Ids are checked against contract §2; anything else is a `bad_topic` rejection.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace castellan::devices {

enum class TopicKind { kSwipe, kState, kHeartbeat, kTelemetry, kStatus };

// "swipe", "state", "heartbeat", "telemetry", "status" (also the metric label topic_kind).
std::string_view topic_kind_name(TopicKind kind);

struct ParsedTopic {
  TopicKind kind = TopicKind::kSwipe;
  std::string site;
  std::string entity;  // door id (swipe, state) or device id (heartbeat, telemetry, status)
  bool is_door() const { return kind == TopicKind::kSwipe || kind == TopicKind::kState; }
};

// Parses an incoming topic; ERR_BAD_REQUEST with the reason when it is not one of ours.
Result<ParsedTopic> parse_topic(std::string_view topic);

std::string decision_topic(std::string_view site, std::string_view door);
std::string command_topic(std::string_view site, std::string_view door);

// The five subscription filters covering every site (QoS 1).
std::array<std::string, 5> incoming_subscriptions();

}  // namespace castellan::devices
