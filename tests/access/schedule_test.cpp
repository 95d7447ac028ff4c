// Schedules in site-local time: DST (skipped and repeated hours) in Europe/Berlin and
// America/New_York, windows spanning midnight, holidays, leap day.
#include <gtest/gtest.h>

#include "access/schedule_eval.hpp"
#include "world.hpp"

namespace castellan::access::testing {
namespace {

constexpr std::uint8_t kEveryDay = 0x7f;
constexpr std::uint8_t kFri = 1u << 5;

bool allows(const char* zone, const Schedule& s, TimePoint t,
            const std::vector<date::local_days>& holidays = {}) {
  return schedule_allows(s, holidays, to_local(*date::locate_zone(zone), t));
}

// Minutes of real (UTC) time inside the schedule between two instants.
int minutes_allowed(const char* zone, const Schedule& s, TimePoint from, TimePoint to) {
  int n = 0;
  for (TimePoint t = from; t < to; t += std::chrono::minutes(1)) n += allows(zone, s, t) ? 1 : 0;
  return n;
}

Schedule window(std::uint8_t days, int from, int to) {
  return Schedule{
      "s",
      {TimeWindow{days, static_cast<std::uint16_t>(from), static_cast<std::uint16_t>(to)}},
      {}};
}

TEST(ScheduleDst, BerlinSkippedHourNeverOccurs) {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
  Schedule skipped = window(kEveryDay, 2 * 60, 3 * 60);
  EXPECT_EQ(minutes_allowed("Europe/Berlin", skipped, at("2026-03-28T22:00:00Z"),
                            at("2026-03-29T04:00:00Z")),
            0);
  Schedule span = window(kEveryDay, 1 * 60, 4 * 60);  // 01:00-04:00 local lasts 2 real hours
  EXPECT_EQ(minutes_allowed("Europe/Berlin", span, at("2026-03-28T22:00:00Z"),
                            at("2026-03-29T04:00:00Z")),
            120);
  EXPECT_FALSE(allows("Europe/Berlin", span, at("2026-03-28T23:59:00Z")));  // 00:59 CET
  EXPECT_TRUE(allows("Europe/Berlin", span, at("2026-03-29T00:00:00Z")));   // 01:00 CET
  EXPECT_TRUE(allows("Europe/Berlin", span, at("2026-03-29T01:00:00Z")));   // 03:00 CEST
  EXPECT_FALSE(allows("Europe/Berlin", span, at("2026-03-29T02:00:00Z")));  // 04:00 CEST
}

TEST(ScheduleDst, BerlinRepeatedHourCountsTwice) {
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z; 02:00-03:00 happens twice.
  Schedule repeated = window(kEveryDay, 2 * 60, 3 * 60);
  EXPECT_EQ(minutes_allowed("Europe/Berlin", repeated, at("2026-10-24T22:00:00Z"),
                            at("2026-10-25T04:00:00Z")),
            120);
  EXPECT_TRUE(allows("Europe/Berlin", repeated, at("2026-10-25T00:30:00Z")));   // 02:30 CEST
  EXPECT_TRUE(allows("Europe/Berlin", repeated, at("2026-10-25T01:30:00Z")));   // 02:30 CET
  EXPECT_FALSE(allows("Europe/Berlin", repeated, at("2026-10-25T02:00:00Z")));  // 03:00 CET
}

TEST(ScheduleDst, NewYorkSkippedHour) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
  Schedule skipped = window(kEveryDay, 2 * 60, 3 * 60);
  EXPECT_EQ(minutes_allowed("America/New_York", skipped, at("2026-03-08T04:00:00Z"),
                            at("2026-03-08T10:00:00Z")),
            0);
  Schedule morning = window(kEveryDay, 1 * 60 + 30, 3 * 60 + 30);
  EXPECT_EQ(minutes_allowed("America/New_York", morning, at("2026-03-08T04:00:00Z"),
                            at("2026-03-08T10:00:00Z")),
            60);
}

TEST(ScheduleDst, NewYorkRepeatedHour) {
  // 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00Z; 01:00-02:00 happens twice.
  Schedule repeated = window(kEveryDay, 1 * 60, 2 * 60);
  EXPECT_EQ(minutes_allowed("America/New_York", repeated, at("2026-11-01T03:00:00Z"),
                            at("2026-11-01T09:00:00Z")),
            120);
  EXPECT_TRUE(allows("America/New_York", repeated, at("2026-11-01T05:15:00Z")));   // 01:15 EDT
  EXPECT_TRUE(allows("America/New_York", repeated, at("2026-11-01T06:15:00Z")));   // 01:15 EST
  EXPECT_FALSE(allows("America/New_York", repeated, at("2026-11-01T07:00:00Z")));  // 02:00 EST
}

TEST(ScheduleMidnight, WindowSpansIntoNextDay) {
  Schedule night = window(kFri, 22 * 60, 6 * 60);  // Friday 22:00 - Saturday 06:00, UTC site
  EXPECT_FALSE(allows("UTC", night, at("2026-11-27T21:59:00Z")));  // Fri
  EXPECT_TRUE(allows("UTC", night, at("2026-11-27T22:00:00Z")));
  EXPECT_TRUE(allows("UTC", night, at("2026-11-27T23:59:00Z")));
  EXPECT_TRUE(allows("UTC", night, at("2026-11-28T00:00:00Z")));  // Sat
  EXPECT_TRUE(allows("UTC", night, at("2026-11-28T05:59:00Z")));
  EXPECT_FALSE(allows("UTC", night, at("2026-11-28T06:00:00Z")));
  EXPECT_FALSE(allows("UTC", night, at("2026-11-28T23:00:00Z")));  // Sat is not a start day
  EXPECT_FALSE(allows("UTC", night, at("2026-11-27T03:00:00Z")));  // Thu did not start one
}

TEST(ScheduleMidnight, EndOfDayWindow) {
  Schedule evening = window(kEveryDay, 20 * 60, 24 * 60);
  EXPECT_TRUE(allows("UTC", evening, at("2026-11-27T23:59:00Z")));
  EXPECT_FALSE(allows("UTC", evening, at("2026-11-28T00:00:00Z")));
}

TEST(ScheduleHoliday, UsesHolidayWindows) {
  Schedule s = window(0b0111110, 8 * 60, 18 * 60);
  s.holiday_windows = {TimeWindow{kEveryDay, 10 * 60, 12 * 60}};
  std::vector<date::local_days> holidays{date::local_days{date::year{2026} / 12 / 24}};
  // 2026-12-24 is a Thursday; Berlin is UTC+1 in winter.
  EXPECT_FALSE(allows("Europe/Berlin", s, at("2026-12-24T08:00:00Z"), holidays));  // 09:00
  EXPECT_TRUE(allows("Europe/Berlin", s, at("2026-12-24T10:00:00Z"), holidays));   // 11:00
  EXPECT_FALSE(allows("Europe/Berlin", s, at("2026-12-24T11:00:00Z"), holidays));  // 12:00
  EXPECT_TRUE(allows("Europe/Berlin", s, at("2026-12-23T08:00:00Z"), holidays));   // Wed 09:00
  // The holiday is a local date: 23:30Z on the 23rd is already the 24th in Berlin.
  Schedule late = window(kEveryDay, 0, 60);
  EXPECT_TRUE(allows("Europe/Berlin", late, at("2026-12-22T23:30:00Z"), holidays));
  EXPECT_FALSE(allows("Europe/Berlin", late, at("2026-12-23T23:30:00Z"), holidays));
}

TEST(ScheduleHoliday, SpanningWindowFollowsItsStartDay) {
  Schedule night = window(kEveryDay, 22 * 60, 6 * 60);
  std::vector<date::local_days> holidays{date::local_days{date::year{2026} / 12 / 24}};
  EXPECT_FALSE(allows("UTC", night, at("2026-12-24T23:00:00Z"), holidays));  // holiday evening
  EXPECT_FALSE(allows("UTC", night, at("2026-12-25T02:00:00Z"), holidays));  // started on it
  EXPECT_TRUE(allows("UTC", night, at("2026-12-24T02:00:00Z"), holidays));   // started 23rd
}

TEST(ScheduleLeapDay, WeekdayAndHolidayOnFebruary29) {
  constexpr std::uint8_t kTue = 1u << 2;
  Schedule tuesdays = window(kTue, 9 * 60, 17 * 60);
  EXPECT_TRUE(allows("UTC", tuesdays, at("2028-02-29T12:00:00Z")));   // Tuesday
  EXPECT_FALSE(allows("UTC", tuesdays, at("2028-03-01T12:00:00Z")));  // Wednesday
  std::vector<date::local_days> holidays{date::local_days{date::year{2028} / 2 / 29}};
  EXPECT_FALSE(allows("UTC", tuesdays, at("2028-02-29T12:00:00Z"), holidays));
}

TEST(ScheduleEngine, EngineUsesSiteZone) {
  World w;  // office: mon-fri 08:00-18:00 Europe/Berlin; d2 is in group office only
  EXPECT_EQ(w.swipe("d2", "04a1b2c3", at("2026-11-24T06:59:00Z")).code,
            Code::ERR_OUTSIDE_SCHEDULE);                                       // 07:59 local
  EXPECT_TRUE(w.swipe("d2", "04a1b2c3", at("2026-11-24T07:00:00Z")).granted);  // 08:00 local
  EXPECT_TRUE(w.swipe("d2", "04a1b2c3", at("2026-11-24T16:59:00Z")).granted);
  EXPECT_EQ(w.swipe("d2", "04a1b2c3", at("2026-11-24T17:00:00Z")).code,
            Code::ERR_OUTSIDE_SCHEDULE);  // 18:00 local
  EXPECT_EQ(w.swipe("d2", "04a1b2c3", at("2026-11-28T10:00:00Z")).code,
            Code::ERR_OUTSIDE_SCHEDULE);  // Saturday
  w.data.holidays["h"] = Holiday{"h", "hq", date::year{2026} / 11 / 24, "Test day"};
  w.publish();
  EXPECT_EQ(w.swipe("d2", "04a1b2c3", at("2026-11-24T10:00:00Z")).code, Code::ERR_OUTSIDE_SCHEDULE);
}

}  // namespace
}  // namespace castellan::access::testing
