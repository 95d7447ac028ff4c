#include "core/time.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"

namespace castellan {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms) {
  return TimePoint{duration_cast<microseconds>((sys_days{year{y} / month{mo} / day{d}} + hours{h} +
                                                minutes{mi} + seconds{s} + milliseconds{ms})
                                                   .time_since_epoch())};
}

TEST(Time, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_utc(at(2026, 11, 22, 3, 4, 5, 123)), "2026-11-22T03:04:05.123Z");
  EXPECT_EQ(format_utc(TimePoint{}), "1970-01-01T00:00:00.000Z");
}

TEST(Time, FormatsEveryFourDigitYearAndKeepsOthersReadable) {
  EXPECT_EQ(format_utc(at(9999, 12, 31, 23, 59, 59, 999)), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc(at(0, 1, 1, 0, 0, 0, 7)), "0000-01-01T00:00:00.007Z");
  EXPECT_EQ(format_utc(at(10000, 1, 2, 3, 4, 5, 6)), "10000-01-02T03:04:05.006Z");
}

TEST(Time, FormatTruncatesMicroseconds) {
  EXPECT_EQ(format_utc(at(2026, 1, 1, 0, 0, 0, 0) + microseconds{1999}),
            "2026-01-01T00:00:00.001Z");
}

TEST(Time, LeapDayAndEndOfYear) {
  EXPECT_EQ(format_utc(at(2028, 2, 29, 23, 59, 59, 999)), "2028-02-29T23:59:59.999Z");
  EXPECT_EQ(format_utc(at(2028, 2, 29, 23, 59, 59, 999) + milliseconds{1}),
            "2028-03-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(at(2026, 12, 31, 23, 59, 59, 999) + milliseconds{1}),
            "2027-01-01T00:00:00.000Z");
  auto leap = parse_utc("2024-02-29T12:00:00.000Z");
  ASSERT_TRUE(leap.ok());
  EXPECT_EQ(*leap, at(2024, 2, 29, 12, 0, 0, 0));
  EXPECT_FALSE(parse_utc("2026-02-29T12:00:00.000Z").ok()) << "2026 is not a leap year";
  EXPECT_FALSE(parse_utc("2100-02-29T12:00:00Z").ok()) << "2100 is not a leap year";
  EXPECT_TRUE(parse_utc("2000-02-29T12:00:00Z").ok()) << "2000 is a leap year";
}

TEST(Time, RoundTrip) {
  for (auto t : {at(1999, 12, 31, 23, 59, 59, 1), at(2026, 3, 29, 1, 30, 0, 500),
                 at(2038, 1, 19, 3, 14, 8, 0)}) {
    auto parsed = parse_utc(format_utc(t));
    ASSERT_TRUE(parsed.ok()) << format_utc(t);
    EXPECT_EQ(*parsed, t);
  }
}

// A time whose offset moves it out of years 0000-9999 in UTC is refused: stored in UTC it
// could not be read back (a card valid "until 9999-12-31T23:59:59-23:59" would stop the start).
TEST(Time, ATimeOutOfRangeInUtcIsRefusedAndEveryAcceptedOneReadsBack) {
  for (const char* text : {"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+00:01"}) {
    auto parsed = parse_utc(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("out of range in UTC"), std::string::npos);
  }
  for (const char* text : {"9999-12-31T23:59:59+23:59", "0000-01-01T00:00:00-00:01",
                           "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"}) {
    auto parsed = parse_utc(text);
    ASSERT_TRUE(parsed.ok()) << text;
    auto again = parse_utc(format_utc(*parsed));
    ASSERT_TRUE(again.ok()) << format_utc(*parsed);
    EXPECT_EQ(*again, *parsed);
  }
}

TEST(Time, ParsesFractionsAndOffsets) {
  EXPECT_EQ(*parse_utc("2026-11-22T03:04:05Z"), at(2026, 11, 22, 3, 4, 5, 0));
  EXPECT_EQ(*parse_utc("2026-11-22T03:04:05.1Z"), at(2026, 11, 22, 3, 4, 5, 100));
  EXPECT_EQ(*parse_utc("2026-11-22T03:04:05.123456789Z"),
            at(2026, 11, 22, 3, 4, 5, 123) + microseconds{456});
  EXPECT_EQ(*parse_utc("2026-11-22T04:04:05.000+01:00"), at(2026, 11, 22, 3, 4, 5, 0));
  EXPECT_EQ(*parse_utc("2026-12-31T20:00:00-05:00"), at(2027, 1, 1, 1, 0, 0, 0));
}

TEST(Time, RejectsMalformed) {
  for (const char* bad :
       {"", "2026-11-22", "2026-11-22T03:04:05", "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T03:04:05.Z", "2026-11-22T03:04:05Zjunk",
        "2026/11/22T03:04:05Z", "not a time at all!!", "2026-11-22T03:04:05+1:00"}) {
    auto r = parse_utc(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Code::ERR_BAD_REQUEST);
      EXPECT_NE(r.error().message.find("invalid RFC 3339"), std::string::npos);
    }
  }
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(at(2026, 11, 22, 0, 0, 0, 0));
  const auto m0 = clock.monotonic();
  EXPECT_EQ(clock.now(), at(2026, 11, 22, 0, 0, 0, 0));
  clock.advance(seconds{8});
  EXPECT_EQ(clock.now(), at(2026, 11, 22, 0, 0, 8, 0));
  EXPECT_EQ(clock.monotonic() - m0, seconds{8});
  clock.set(at(2027, 1, 1, 0, 0, 0, 0));
  EXPECT_EQ(clock.now(), at(2027, 1, 1, 0, 0, 0, 0));
  EXPECT_EQ(clock.monotonic() - m0, seconds{8}) << "setting wall time must not move monotonic time";
}

TEST(Clock, SystemClockIsUtcNow) {
  const auto before = time_point_cast<microseconds>(system_clock::now());
  const auto t = SystemClock::instance().now();
  const auto after = time_point_cast<microseconds>(system_clock::now());
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

}  // namespace
}  // namespace castellan
