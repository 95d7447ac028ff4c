// GET /v1/devices and /v1/devices/{id}: the same devices, whatever the device was seen by.
#include "devices/device_view.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace castellan::devices {
namespace {

TEST(DeviceList, ListsADeviceSeenOnlyThroughItsTelemetryAsItsViewDoes) {
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  HeartbeatMonitor monitor(clock, HeartbeatOptions{}, [](const DeviceTransition&) {});
  TelemetryStore telemetry;
  ASSERT_TRUE(monitor.on_heartbeat("hq", "ctl-1", {"1.0.0", 5, {}}));
  ASSERT_TRUE(
      telemetry.record("sensor-9", TelemetryPayload{{}, {{"temperature_c", 21.5}}}, clock.now()));
  ASSERT_TRUE(device_view_json(monitor, telemetry, "sensor-9").has_value());
  const auto list = boost::json::parse(device_list_json(monitor, telemetry, {"ctl-2"})).as_array();
  std::vector<std::string> ids;
  for (const auto& d : list) ids.emplace_back(d.at("id").as_string());
  EXPECT_EQ(ids, (std::vector<std::string>{"ctl-1", "ctl-2", "sensor-9"}));
}

}  // namespace
}  // namespace castellan::devices
