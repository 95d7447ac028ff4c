#include "access/schedule_eval.hpp"

#include <algorithm>

namespace castellan::access {

LocalMoment to_local(const date::time_zone& zone, TimePoint now) {
  // to_local() answers in seconds at least; schedules have minute resolution.
  auto local = date::floor<std::chrono::minutes>(zone.to_local(now));
  auto day = date::floor<date::days>(local);
  auto minute = std::chrono::duration_cast<std::chrono::minutes>(local - day);
  return LocalMoment{day, static_cast<int>(minute.count())};
}

namespace {

bool day_in(std::uint8_t mask, date::local_days day) {
  return (mask >> date::weekday{day}.c_encoding()) & 1u;
}

}  // namespace

bool schedule_allows(const Schedule& schedule, const std::vector<date::local_days>& holidays,
                     const LocalMoment& at) {
  auto windows_of = [&](date::local_days day) -> const std::vector<TimeWindow>& {
    bool holiday = std::binary_search(holidays.begin(), holidays.end(), day);
    return holiday ? schedule.holiday_windows : schedule.windows;
  };
  // Windows that start today.
  for (const TimeWindow& w : windows_of(at.day)) {
    if (!day_in(w.days, at.day)) continue;
    if (w.from_min < w.to_min) {
      if (at.minute >= w.from_min && at.minute < w.to_min) return true;
    } else if (at.minute >= w.from_min) {
      return true;
    }
  }
  // Windows that started yesterday and span midnight.
  date::local_days yesterday = at.day - date::days{1};
  for (const TimeWindow& w : windows_of(yesterday)) {
    if (w.to_min < w.from_min && day_in(w.days, yesterday) && at.minute < w.to_min) return true;
  }
  return false;
}

}  // namespace castellan::access
