// Reading back the records of a recent window at start, for the state that the engine and the
// door tracker keep in memory or save late (anti-passback positions, pass uses, open alarms).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "core/time.hpp"
#include "journal/journal.hpp"

namespace castellan::app {

// Calls `visit` for each record of `kind` journaled at or after `from` (at `door` only, unless
// empty), newest first; returns how many there were.
Result<std::uint64_t> scan_records(const journal::Journal& journal, journal::RecordKind kind,
                                   TimePoint from,
                                   const std::function<void(const journal::JournalRecord&)>& visit,
                                   const std::string& door = "");

// scan_records of the decision records.
Result<std::uint64_t> scan_decisions(
    const journal::Journal& journal, TimePoint from,
    const std::function<void(const journal::JournalRecord&)>& visit, const std::string& door = "");

// A 50301/50401 deny: the answer to a swipe whose grant, if the engine made one, never reached
// its door and was given back. It carries the trace_id, door and card_hash of that grant.
bool is_failure_deny(const journal::JournalRecord& record);

// What ties a failure deny to the grant it replaced: trace_id, door and card_hash. The trace_id
// alone is not enough, as an API client may send one `traceparent` with many verifies.
std::string decision_key(const journal::JournalRecord& record);

}  // namespace castellan::app
