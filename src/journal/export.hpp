// `castellan journal export DIR [--from T] [--to T]`: records as JSON Lines (contract §5).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::journal {

struct ExportOptions {
  std::optional<TimePoint> from;  // inclusive, on the record's ts
  std::optional<TimePoint> to;    // inclusive
  // How long the end of the newest segment may take to become whole (a running server's
  // batch being written, live_tail.hpp) before it is taken as a torn tail or as damage.
  std::chrono::milliseconds settle{1000};
  const Clock* clock = &SystemClock::instance();  // times the settle
};

// Writes one export line per intact record, in seq order, each followed by '\n'. Returns the
// number of lines written. A torn tail of the last segment (unacknowledged records of a live
// journal, or of a crash not yet recovered) ends the export quietly; any other damage (a bad
// header, a bad frame or record with intact records after it) is 50301 naming the segment,
// offset and last seq exported, after the lines before it. 50301 too if the directory or a
// segment cannot be read.
Result<std::uint64_t> export_jsonl(const std::string& dir, const ExportOptions& options,
                                   std::ostream& out);

}  // namespace castellan::journal
