#include "devices/topics.hpp"

#include <gtest/gtest.h>

namespace castellan::devices {
namespace {

TEST(Topics, ParsesEveryIncomingKind) {
  struct Case {
    std::string topic;
    TopicKind kind;
    std::string site, entity;
  };
  const std::vector<Case> cases = {
      {"castellan/v1/hq/doors/d1/swipe", TopicKind::kSwipe, "hq", "d1"},
      {"castellan/v1/hq/doors/Main.Door_2-b/state", TopicKind::kState, "hq", "Main.Door_2-b"},
      {"castellan/v1/site-2/devices/ctl-1/heartbeat", TopicKind::kHeartbeat, "site-2", "ctl-1"},
      {"castellan/v1/hq/devices/s1/telemetry", TopicKind::kTelemetry, "hq", "s1"},
      {"castellan/v1/hq/devices/s1/status", TopicKind::kStatus, "hq", "s1"},
  };
  for (const auto& c : cases) {
    auto t = parse_topic(c.topic);
    ASSERT_TRUE(t.ok()) << c.topic;
    EXPECT_EQ(t->kind, c.kind) << c.topic;
    EXPECT_EQ(t->site, c.site);
    EXPECT_EQ(t->entity, c.entity);
  }
}

TEST(Topics, RejectsMalformedTopicsWithAReason) {
  const std::vector<std::string> bad = {
      "",
      "castellan/v2/hq/doors/d1/swipe",
      "castellan/v1/HQ/doors/d1/swipe",        // site ids are lower case
      "castellan/v1/hq/doors/d1",              // too short
      "castellan/v1/hq/doors/d1/swipe/extra",  // too long
      "castellan/v1/hq/doors/d 1/swipe",       // space in id
      "castellan/v1/hq/doors//swipe",          // empty id
      "castellan/v1/hq/doors/d1/decision",     // outgoing kind
      "castellan/v1/hq/devices/d1/swipe",      // door kind under devices
      "castellan/v1/hq/gates/d1/swipe",
      "castellan/v1/" + std::string(33, 'a') + "/doors/d1/swipe",
      "castellan/v1/hq/doors/" + std::string(65, 'a') + "/swipe",
      "castellan/v1/hq/doors/d1/swipe" + std::string(300, '/'),
  };
  for (const auto& topic : bad) {
    auto t = parse_topic(topic);
    EXPECT_FALSE(t.ok()) << topic;
    if (!t.ok()) {
      EXPECT_FALSE(t.error().message.empty());
    }
  }
}

TEST(Topics, BuildsOutgoingTopics) {
  EXPECT_EQ(decision_topic("hq", "d1"), "castellan/v1/hq/doors/d1/decision");
  EXPECT_EQ(command_topic("hq", "d1"), "castellan/v1/hq/doors/d1/command");
  auto subs = incoming_subscriptions();
  EXPECT_EQ(subs[0], "castellan/v1/+/doors/+/swipe");
  EXPECT_EQ(subs[4], "castellan/v1/+/devices/+/status");
}

}  // namespace
}  // namespace castellan::devices
