#include "core/time.hpp"

#include <array>
#include <cstdio>

namespace castellan {

using namespace std::chrono;

std::string format_utc(TimePoint t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const auto since_midnight = t - day;
  const auto h = duration_cast<hours>(since_midnight);
  const auto m = duration_cast<minutes>(since_midnight - h);
  const auto s = duration_cast<seconds>(since_midnight - h - m);
  const auto ms = duration_cast<milliseconds>(since_midnight - h - m - s);
  // Written digit by digit: snprintf was a visible share of the journal writer's time. Years
  // outside 0..9999 (a TimePoint reaches ±292,000) keep the general form.
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    std::array<char, 48> buf{};
    const int n =
        std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                      static_cast<int>(h.count()), static_cast<int>(m.count()),
                      static_cast<int>(s.count()), static_cast<int>(ms.count()));
    return std::string(buf.data(), static_cast<std::size_t>(n));
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](std::size_t at, std::size_t width, unsigned value) {
    for (std::size_t i = width; i-- > 0; value /= 10)
      out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, static_cast<unsigned>(year));
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, static_cast<unsigned>(h.count()));
  put(14, 2, static_cast<unsigned>(m.count()));
  put(17, 2, static_cast<unsigned>(s.count()));
  put(20, 3, static_cast<unsigned>(ms.count()));
  return out;
}

namespace {

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

Error bad(std::string_view text, const char* why) {
  return make_error(Code::ERR_BAD_REQUEST,
                    "invalid RFC 3339 timestamp '" + std::string(text.substr(0, 40)) + "': " + why);
}

}  // namespace

Result<TimePoint> parse_utc(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(text, 0, 4, y) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d)) {
    return bad(text, "expected YYYY-MM-DD");
  }
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return bad(text, "expected 'T'");
  if (!digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
      !digits(text, 17, 2, s)) {
    return bad(text, "expected HH:MM:SS");
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad(text, "no such date");
  if (h > 23 || mi > 59 || s > 60) return bad(text, "time out of range");
  if (s == 60) s = 59;  // leap second: clamp, as most systems do

  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 6) micros = micros * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return bad(text, "empty fraction");
    for (int i = n; i < 6; ++i) micros *= 10;
  }
  if (pos >= text.size()) return bad(text, "missing time zone ('Z' or offset)");
  int offset_min = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad(text, "bad offset");
    }
    offset_min = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad(text, "missing time zone ('Z' or offset)");
  }
  if (pos != text.size()) return bad(text, "trailing characters");

  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros} -
                 minutes{offset_min};
  // In range after the offset too: "9999-12-31T23:59:59-23:59" is in year 10000 UTC, which
  // format_utc() cannot write in four digits, so a stored time would not read back.
  const auto utc_year = year_month_day{floor<days>(t)}.year();
  if (utc_year < year{0} || utc_year > year{9999}) return bad(text, "out of range in UTC");
  return TimePoint{duration_cast<microseconds>(t.time_since_epoch())};
}

}  // namespace castellan
