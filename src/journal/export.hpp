// `castellan journal export DIR [--from T] [--to T]`: records as JSON Lines (contract §5).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::journal {

struct ExportOptions {
  std::optional<TimePoint> from;  // inclusive, on the record's ts
  std::optional<TimePoint> to;    // inclusive
};

// Writes one export line per intact record, in seq order, each followed by '\n'. Stops at the
// first damaged frame (a torn tail of a live journal is not exported). Returns the number of
// lines written; 50301 if the directory or a segment cannot be read.
Result<std::uint64_t> export_jsonl(const std::string& dir, const ExportOptions& options,
                                   std::ostream& out);

}  // namespace castellan::journal
