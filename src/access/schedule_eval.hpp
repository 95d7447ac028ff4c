// Schedule evaluation in a site's local time. The UTC instant is converted to the site's wall
// clock with date/tz, so DST needs no special case: a skipped local hour never occurs, and a
// repeated hour occurs twice and is inside a window both times.
#pragma once

#include <date/tz.h>

#include <vector>

#include "access/model.hpp"
#include "core/time.hpp"

namespace castellan::access {

// Local date and minute of day of `now` in `zone`.
struct LocalMoment {
  date::local_days day;
  int minute = 0;  // 0..1439
};
LocalMoment to_local(const date::time_zone& zone, TimePoint now);

// `holidays` is sorted; windows of a holiday come from schedule.holiday_windows. A window
// spanning midnight belongs to the day it starts on (that day's holiday status applies).
bool schedule_allows(const Schedule& schedule, const std::vector<date::local_days>& holidays,
                     const LocalMoment& at);

}  // namespace castellan::access
