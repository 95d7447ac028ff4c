#include "devices/device_view.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

namespace castellan::devices {
namespace json = boost::json;
namespace {

json::object view(std::string_view id, const std::optional<DeviceSummary>& summary,
                  const TelemetryStore& telemetry) {
  json::object o;
  o["id"] = id;
  if (summary) {
    o["site"] = summary->site;
    o["status"] = liveness_name(summary->status);
    if (summary->last_heartbeat) {
      o["last_heartbeat"] = format_utc(*summary->last_heartbeat);
    } else {
      o["last_heartbeat"] = nullptr;
    }
    o["fw"] = summary->fw.empty() ? json::value(nullptr) : json::value(summary->fw);
    if (summary->uptime_s) o["uptime_s"] = *summary->uptime_s;
  } else {
    o["status"] = "unknown";
    o["last_heartbeat"] = nullptr;
    o["fw"] = nullptr;
  }
  json::object metrics;
  for (const auto& [name, sample] : telemetry.latest(id)) metrics[name] = sample.value;
  o["telemetry"] = std::move(metrics);
  return o;
}

}  // namespace

std::optional<std::string> device_view_json(const HeartbeatMonitor& monitor,
                                            const TelemetryStore& telemetry, std::string_view id,
                                            const std::vector<std::string>& known_ids) {
  auto summary = monitor.device(id);
  bool known = std::find(known_ids.begin(), known_ids.end(), id) != known_ids.end();
  if (!summary && !known && telemetry.latest(id).empty()) return std::nullopt;
  return json::serialize(view(id, summary, telemetry));
}

std::string device_list_json(const HeartbeatMonitor& monitor, const TelemetryStore& telemetry,
                             const std::vector<std::string>& known_ids) {
  std::set<std::string> listed;
  json::array out;
  for (const auto& d : monitor.devices()) listed.insert(d.id);
  for (const auto& id : known_ids) listed.insert(id);
  for (const auto& id : telemetry.device_ids()) listed.insert(id);  // as device_view_json finds it
  for (const auto& id : listed) out.push_back(view(id, monitor.device(id), telemetry));
  return json::serialize(out);
}

}  // namespace castellan::devices
