// UTC time points and RFC 3339 text (contract §2): "2026-11-22T03:04:05.123Z".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace castellan {

// Wall-clock UTC instant with microsecond resolution (latencies are reported in µs).
using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

// RFC 3339 UTC with 'Z' and exactly three fractional digits (milliseconds, truncated).
std::string format_utc(TimePoint t);

// Parses RFC 3339: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; 'T' may be 't' or ' '.
// Offsets are converted to UTC; fractions beyond microseconds are truncated.
Result<TimePoint> parse_utc(std::string_view text);

// Milliseconds since the Unix epoch, handy for compact storage.
inline std::int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint{std::chrono::milliseconds{ms}};
}
inline std::int64_t to_unix_us(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint from_unix_us(std::int64_t us) {
  return TimePoint{std::chrono::microseconds{us}};
}

}  // namespace castellan
