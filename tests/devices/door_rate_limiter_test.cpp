// DoorRateLimiter: a token bucket per door, refusals reported once per period.
#include "devices/door_rate_limiter.hpp"

#include <gtest/gtest.h>

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;

const Clock::Monotonic kT0{std::chrono::hours(1)};

int taken(DoorRateLimiter& l, const std::string& door, int tries, Clock::Monotonic now) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += l.take("hq", door, now);
  return n;
}

TEST(DoorRateLimiter, ABurstOfTwoSecondsWorthThenTheRate) {
  DoorRateLimiter l(20);
  EXPECT_EQ(taken(l, "d1", 100, kT0), 40) << "a burst of two seconds' worth";
  EXPECT_EQ(taken(l, "d1", 100, kT0 + 500ms), 10) << "then 20 per second";
  EXPECT_EQ(taken(l, "d2", 100, kT0 + 500ms), 40) << "every door has its own bucket";
  EXPECT_EQ(taken(l, "d1", 100, kT0 + 10s), 40) << "full again, never more than the burst";
}

// Swipes of one door handled on two threads read the clock before the limiter's lock, so a
// take may carry an earlier time than the one before it. That time must not be refilled twice.
TEST(DoorRateLimiter, ATimeOutOfOrderIsNotCreditedTwice) {
  DoorRateLimiter l(20);
  EXPECT_EQ(taken(l, "d1", 40, kT0 + 1s), 40) << "the burst, used up at 1 s";
  EXPECT_EQ(taken(l, "d1", 1, kT0), 0) << "an earlier time: nothing to refill";
  EXPECT_EQ(taken(l, "d1", 100, kT0 + 1500ms), 10) << "0.5 s since 1 s, not 1.5 s since 0 s";
}

TEST(DoorRateLimiter, ZeroIsNoLimit) {
  DoorRateLimiter l(0);
  EXPECT_EQ(taken(l, "d1", 10000, kT0), 10000);
  EXPECT_TRUE(l.due(kT0 + 1h).empty());
  EXPECT_EQ(l.doors(), 0u);
}

TEST(DoorRateLimiter, RefusalsAreReportedOncePerPeriodFromTheFirst) {
  DoorRateLimiter l(20, 60s);
  taken(l, "d1", 100, kT0);  // 60 refused
  EXPECT_TRUE(l.due(kT0 + 59s).empty());
  taken(l, "d1", 100, kT0 + 59s);  // 40 taken (full again), 60 refused
  auto reports = l.due(kT0 + 60s);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].site, "hq");
  EXPECT_EQ(reports[0].door, "d1");
  EXPECT_EQ(reports[0].refused, 120u);
  EXPECT_TRUE(l.due(kT0 + 200s).empty()) << "nothing refused since";
}

TEST(DoorRateLimiter, QuietDoorsAreForgotten) {
  DoorRateLimiter l(20);
  taken(l, "d1", 1, kT0);
  taken(l, "d2", 1, kT0 + 1s);
  EXPECT_EQ(l.doors(), 2u);
  l.due(kT0 + 2500ms);  // d1 quiet for 2.5 s (full again), d2 for 1.5 s
  EXPECT_EQ(l.doors(), 1u);
}

}  // namespace
}  // namespace castellan::devices
