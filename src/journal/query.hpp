// Runs an EventQuery over an EventIndex, newest first from the cursor.
//
// Two phases so that a query never holds up the flusher (which must lock the index to add
// each durable batch): under the index lock, `collect_candidates` copies out the entries that
// pass the cheap prefilter (kind, time range, 64-bit hashes of door/user/decision); without
// the lock, each candidate's record is read from its segment and confirmed. The cursor is the
// seq of the last record returned (the next page holds older records only); next_cursor is
// set only when another match exists.
#pragma once

#include <functional>
#include <limits>
#include <vector>

#include "journal/index.hpp"
#include "journal/journal.hpp"

namespace castellan::journal {

inline constexpr std::size_t kMaxQueryLimit = 1000;

// Up to `max` entries with seq < `below` that pass the prefilter, newest first.
std::vector<IndexEntry> collect_candidates(const EventIndex& index, const EventQuery& query,
                                           std::uint64_t below, std::size_t max);

// Calls collect_candidates with the index locked.
using CandidateSource =
    std::function<std::vector<IndexEntry>(std::uint64_t below, std::size_t max)>;

Result<EventPage> run_query(const std::string& dir, const EventQuery& query,
                            const CandidateSource& candidates);

}  // namespace castellan::journal
