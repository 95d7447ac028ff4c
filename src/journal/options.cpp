#include <algorithm>

#include "journal/journal.hpp"

namespace castellan::journal {

JournalOptions journal_options(const Config& config) {
  JournalOptions o;
  o.dir = config.journal.dir;
  o.segment_bytes =
      static_cast<std::uint64_t>(std::max<std::int64_t>(config.journal.segment_bytes, 0));
  o.batch_max = static_cast<std::size_t>(std::max(config.journal.batch_max, 1));
  o.linger = std::chrono::microseconds(std::max(config.journal.linger_us, 0));
  o.retention_age = std::chrono::hours(24) * std::max(config.journal.retention_days, 0);
  o.retention_bytes =
      static_cast<std::uint64_t>(std::max<std::int64_t>(config.journal.retention_bytes, 0));
  return o;
}

}  // namespace castellan::journal
