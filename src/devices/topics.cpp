#include "devices/topics.hpp"

#include <vector>

#include "core/ids.hpp"

namespace castellan::devices {
namespace {

constexpr std::string_view kRoot = "castellan/v1/";

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace

std::string_view topic_kind_name(TopicKind kind) {
  switch (kind) {
    case TopicKind::kSwipe:
      return "swipe";
    case TopicKind::kState:
      return "state";
    case TopicKind::kHeartbeat:
      return "heartbeat";
    case TopicKind::kTelemetry:
      return "telemetry";
    case TopicKind::kStatus:
      return "status";
  }
  return "unknown";
}

Result<ParsedTopic> parse_topic(std::string_view topic) {
  if (topic.size() > 256) return make_error(Code::ERR_BAD_REQUEST, "topic too long");
  if (topic.substr(0, kRoot.size()) != kRoot) {
    return make_error(Code::ERR_BAD_REQUEST, "topic is not under castellan/v1/");
  }
  auto parts = split(topic.substr(kRoot.size()));
  if (parts.size() != 4) {
    return make_error(Code::ERR_BAD_REQUEST, "topic must be {site}/{doors|devices}/{id}/{kind}");
  }
  ParsedTopic out;
  if (!is_valid_site_id(parts[0])) return make_error(Code::ERR_BAD_REQUEST, "invalid site id");
  if (!is_valid_id(parts[2])) return make_error(Code::ERR_BAD_REQUEST, "invalid door/device id");
  out.site = std::string(parts[0]);
  out.entity = std::string(parts[2]);
  if (parts[1] == "doors") {
    if (parts[3] == "swipe") {
      out.kind = TopicKind::kSwipe;
    } else if (parts[3] == "state") {
      out.kind = TopicKind::kState;
    } else {
      return make_error(Code::ERR_BAD_REQUEST, "unknown door topic kind");
    }
  } else if (parts[1] == "devices") {
    if (parts[3] == "heartbeat") {
      out.kind = TopicKind::kHeartbeat;
    } else if (parts[3] == "telemetry") {
      out.kind = TopicKind::kTelemetry;
    } else if (parts[3] == "status") {
      out.kind = TopicKind::kStatus;
    } else {
      return make_error(Code::ERR_BAD_REQUEST, "unknown device topic kind");
    }
  } else {
    return make_error(Code::ERR_BAD_REQUEST, "topic class must be doors or devices");
  }
  return out;
}

std::string decision_topic(std::string_view site, std::string_view door) {
  return std::string(kRoot) + std::string(site) + "/doors/" + std::string(door) + "/decision";
}

std::string command_topic(std::string_view site, std::string_view door) {
  return std::string(kRoot) + std::string(site) + "/doors/" + std::string(door) + "/command";
}

std::array<std::string, 5> incoming_subscriptions() {
  return {"castellan/v1/+/doors/+/swipe", "castellan/v1/+/doors/+/state",
          "castellan/v1/+/devices/+/heartbeat", "castellan/v1/+/devices/+/telemetry",
          "castellan/v1/+/devices/+/status"};
}

}  // namespace castellan::devices
