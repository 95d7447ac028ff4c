// The device view of GET /v1/devices and GET /v1/devices/{id} (contract §6):
// {"id","status":"online"|"offline"|"unknown","last_heartbeat","fw","telemetry":{…latest…}}
// plus "site" and "uptime_s" when known.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "devices/heartbeat_monitor.hpp"
#include "devices/telemetry.hpp"

namespace castellan::devices {

// The view of one device; nullopt when neither heartbeats nor telemetry were ever seen and
// the id is not in `known_ids` (configured controllers).
std::optional<std::string> device_view_json(const HeartbeatMonitor& monitor,
                                            const TelemetryStore& telemetry, std::string_view id,
                                            const std::vector<std::string>& known_ids = {});

// Every device seen plus `known_ids`, sorted by id, as a JSON array text.
std::string device_list_json(const HeartbeatMonitor& monitor, const TelemetryStore& telemetry,
                             const std::vector<std::string>& known_ids = {});

}  // namespace castellan::devices
