// HeartbeatMonitor and its timing wheel, driven by a FakeClock and manual ticks.
#include "devices/heartbeat_monitor.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;

class HeartbeatMonitorTest : public ::testing::Test {
 protected:
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  std::vector<DeviceTransition> transitions_;
  HeartbeatMonitor monitor_{clock_, HeartbeatOptions{},
                            [this](const DeviceTransition& t) { transitions_.push_back(t); }};

  void heartbeat(const std::string& id) {
    ASSERT_TRUE(monitor_.on_heartbeat("hq", id, {"1.0.0", 5, {}}));
  }
  // Advances in 10 ms steps, ticking each time, like the 20 ms ticker but finer.
  void run_for(std::chrono::milliseconds d) {
    for (auto t = 0ms; t < d; t += 10ms) {
      clock_.advance(10ms);
      monitor_.tick();
    }
  }
};

TEST_F(HeartbeatMonitorTest, OnlineAtFirstHeartbeatOfflineEightSecondsAfterTheLast) {
  heartbeat("ctl-1");
  ASSERT_EQ(transitions_.size(), 1u);
  EXPECT_TRUE(transitions_[0].online);
  EXPECT_EQ(transitions_[0].reason, "heartbeat");
  EXPECT_EQ(monitor_.online_count(), 1u);
  TimePoint last = clock_.now();
  run_for(7900ms);
  EXPECT_EQ(transitions_.size(), 1u) << "still online before 8 s";
  run_for(200ms);
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_FALSE(transitions_[1].online);
  EXPECT_EQ(transitions_[1].reason, "timeout");
  auto delay = transitions_[1].at - last;
  EXPECT_GE(delay, 8000ms);
  EXPECT_LE(delay, 8110ms) << "within one 100 ms tick (+ the 10 ms step) of the target";
  EXPECT_EQ(monitor_.online_count(), 0u);
  EXPECT_EQ(monitor_.device("ctl-1")->status, DeviceLiveness::kOffline);
}

TEST_F(HeartbeatMonitorTest, HeartbeatsKeepADeviceOnline) {
  heartbeat("ctl-1");
  for (int i = 0; i < 10; ++i) {
    run_for(3000ms);
    heartbeat("ctl-1");
  }
  EXPECT_EQ(transitions_.size(), 1u) << "no flapping while heartbeats arrive every 3 s";
  TimePoint last = clock_.now();
  run_for(9000ms);
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_GE(transitions_[1].at - last, 8000ms);
  EXPECT_LE(transitions_[1].at - last, 8110ms);
}

TEST_F(HeartbeatMonitorTest, LastWillTakesADeviceOfflineAtOnceAndHeartbeatRevivesIt) {
  heartbeat("s1");
  monitor_.on_status("hq", "s1", DeviceStatus::kOffline);
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_FALSE(transitions_[1].online);
  EXPECT_EQ(transitions_[1].reason, "last_will");
  EXPECT_EQ(transitions_[1].at, clock_.now());
  run_for(9000ms);
  EXPECT_EQ(transitions_.size(), 2u) << "the old wheel entry must not report offline twice";
  monitor_.on_status("hq", "unknown-device", DeviceStatus::kOffline);
  monitor_.on_status("other-site", "s1", DeviceStatus::kOffline);
  EXPECT_EQ(transitions_.size(), 2u);
  heartbeat("s1");
  EXPECT_EQ(transitions_.size(), 3u);
  EXPECT_TRUE(transitions_[2].online);
}

TEST_F(HeartbeatMonitorTest, ManyDevicesEachDetectedWithinOneTick) {
  std::mt19937 rng(7);
  std::map<std::string, TimePoint> last;
  for (int round = 0; round < 30; ++round) {
    for (int d = 0; d < 200; ++d) {
      if (rng() % 3 == 0) {
        std::string id = "dev-" + std::to_string(d);
        heartbeat(id);
        last[id] = clock_.now();
      }
    }
    run_for(std::chrono::milliseconds{100 + rng() % 400});
  }
  std::size_t before = transitions_.size();
  run_for(9000ms);
  EXPECT_EQ(monitor_.online_count(), 0u);
  std::size_t offline = 0;
  for (std::size_t i = 0; i < transitions_.size(); ++i) {
    const auto& t = transitions_[i];
    if (t.online) continue;
    ++offline;
    // Compare with the heartbeat this offline follows (the device's last one when final).
    if (i >= before) {
      auto delay = t.at - last[t.device];
      EXPECT_GE(delay, 8000ms) << t.device;
      EXPECT_LE(delay, 8110ms) << t.device;
    }
  }
  EXPECT_EQ(monitor_.device_count(), last.size());
  EXPECT_GE(offline, last.size());
}

TEST_F(HeartbeatMonitorTest, LongPauseOfTheDriverStillReportsEveryone) {
  heartbeat("a");
  heartbeat("b");
  clock_.advance(60s);  // the ticker was starved for a minute
  monitor_.tick();
  EXPECT_EQ(monitor_.online_count(), 0u);
  EXPECT_EQ(transitions_.size(), 4u);
}

TEST_F(HeartbeatMonitorTest, DeviceTableIsBounded) {
  HeartbeatOptions o;
  o.max_devices = 2;
  HeartbeatMonitor small(clock_, o, nullptr);
  EXPECT_TRUE(small.on_heartbeat("hq", "a", {}));
  EXPECT_TRUE(small.on_heartbeat("hq", "b", {}));
  EXPECT_FALSE(small.on_heartbeat("hq", "c", {}));
  EXPECT_TRUE(small.on_heartbeat("hq", "a", {})) << "known devices still heartbeat";
  EXPECT_EQ(small.device_count(), 2u);
}

TEST(TimingWheel, FiresInTickOrderAndNotBeforeTheDeadline) {
  Clock::Monotonic origin{std::chrono::seconds{1}};
  TimingWheel wheel(100ms, 8, origin);
  wheel.schedule(1, origin + 250ms);   // tick 3
  wheel.schedule(2, origin + 100ms);   // tick 1
  wheel.schedule(3, origin + 2000ms);  // tick 20: more than one revolution ahead
  std::vector<std::uint32_t> fired;
  wheel.advance(origin + 299ms, [&](std::uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired, (std::vector<std::uint32_t>{2}));
  wheel.advance(origin + 300ms, [&](std::uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired, (std::vector<std::uint32_t>{2, 1}));
  wheel.advance(origin + 1999ms, [&](std::uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired.size(), 2u) << "a far entry survives full revolutions";
  wheel.advance(origin + 2000ms, [&](std::uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired, (std::vector<std::uint32_t>{2, 1, 3}));
  EXPECT_EQ(wheel.size(), 0u);
}

}  // namespace
}  // namespace castellan::devices
