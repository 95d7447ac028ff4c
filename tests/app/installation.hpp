// What the start-up replay tests share: one running installation's swipe path over the test
// data of tests/devices (engine, recording journal, publisher, real SwipePipeline), and the
// answer a fake publisher carried.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "../devices/bridge_fakes.hpp"
#include "../devices/bridge_world.hpp"
#include "devices/swipe_pipeline.hpp"

namespace castellan::app::testing {

// The code of the last decision published for `req`; -1 (and a test failure) when none was.
inline int published_code(const devices::testing::RecordingPublisher& publisher,
                          const std::string& req) {
  int code = -1;
  for (const auto& m : publisher.messages()) {
    auto d = devices::parse_decision_message(m.payload);
    if (d.ok() && d->req == req) code = d->code;
  }
  EXPECT_NE(code, -1) << "no decision for " << req;
  return code;
}

struct Installation {
  explicit Installation(FakeClock& clock) : clock(clock), world(clock) {}

  // Card kUidOk swipes at `door`; returns the code published.
  int swipe(const std::string& door, const std::string& req, const std::string& dir = "in") {
    pipeline.handle("hq", door, devices::testing::swipe_json(req, devices::testing::kUidOk, dir));
    return code_for(req);
  }
  int code_for(const std::string& req) { return published_code(publisher, req); }

  FakeClock& clock;
  devices::testing::AccessWorld world;
  devices::testing::RecordingJournal journal;
  devices::testing::RecordingPublisher publisher;
  devices::DoorStateTracker door_states{clock, journal};
  devices::DeviceMetrics metrics{world.metrics};
  devices::SwipePipeline pipeline{clock,
                                  devices::SwipeOptions{},
                                  world.doors,
                                  world.engine,
                                  devices::testing::kCardSecret,
                                  journal,
                                  publisher,
                                  door_states,
                                  metrics};
};

}  // namespace castellan::app::testing
