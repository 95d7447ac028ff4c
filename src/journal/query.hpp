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

// Up to `max` entries with seq < `below` that pass the prefilter, newest first, looking at no
// more than `max_scanned` entries. `*below` becomes the seq to continue below: the last entry
// looked at, or 0 once the oldest entry was looked at.
std::vector<IndexEntry> collect_candidates(const EventIndex& index, const EventQuery& query,
                                           std::uint64_t* below, std::size_t max,
                                           std::size_t max_scanned);

// How many index entries a query looks at per hold of the index lock (about 0.1 ms): a query
// that matches little of a large index lets the acknowledging thread in between slices.
inline constexpr std::size_t kQueryScanSlice = 16384;

// Calls collect_candidates with the index locked, a slice at a time.
using CandidateSource =
    std::function<std::vector<IndexEntry>(std::uint64_t below, std::size_t max)>;

Result<EventPage> run_query(const std::string& dir, const EventQuery& query,
                            const CandidateSource& candidates);

}  // namespace castellan::journal
