// Runs an EventQuery over an EventIndex: walks entries newest first from the cursor, prefilters
// on the entry (kind, time, hashes of door/user/decision), and confirms each candidate on the
// record read from its segment. The cursor is the seq of the last record returned (the next
// page holds older records only); next_cursor is set only when another match exists.
#pragma once

#include "journal/index.hpp"
#include "journal/journal.hpp"

namespace castellan::journal {

inline constexpr std::size_t kMaxQueryLimit = 1000;

Result<EventPage> run_query(const EventIndex& index, const EventQuery& query);

}  // namespace castellan::journal
