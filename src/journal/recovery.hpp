// Recovery: what the writer needs to continue a journal directory after a clean stop, a
// kill -9 or a power cut.
//
// Rules (docs/architecture.md, "Journal"):
// - Only the last segment can have a torn tail: older segments were complete and fsynced
//   before the next one was created.
// - A last segment whose header never made it to disk (file no longer than a header, header
//   invalid) was being created when the process died: it holds no records and is removed.
// - In the last segment, the first frame that is torn, has a bad length or fails its CRC
//   starts the tail, which is cut (ftruncate + fdatasync) and reported — unless a complete
//   later write batch follows it (version 1 segments: any intact frame): then this is damage
//   to synced records, not a torn write, so recovery refuses (50301) and an operator runs
//   `castellan journal verify`.
// - Before the cut, its report is noted in DIR/tail-cut.pending (one JSON object per line,
//   synced): Journal::open journals each noted cut as a `resilience` record and then removes
//   the note, so an append that fails right after a crash cannot lose the report (it is
//   journaled at a later open; at least once).
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "journal/journal.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

struct RecoveredState {
  std::vector<SegmentFile> segments;     // after recovery, ordered
  std::vector<std::int64_t> created_ms;  // per segment, from its header (0 if unreadable)
  std::uint64_t last_seq = 0;            // 0: no record yet
  std::string last_hash;                 // what the next record's prev must be
  std::uint64_t active_size = 0;         // size of the last segment after recovery
  std::uint32_t active_version = 2;      // header version of the last segment
  bool cut_noted = false;                // a cut's report is in DIR/tail-cut.pending
  RecoveryReport report;
};

inline constexpr const char* kPendingCutsFile = "tail-cut.pending";

Result<RecoveredState> recover_journal(const std::string& dir);

// Appends a resilience record's members (one line) to DIR/tail-cut.pending and syncs it, so
// that it is journaled at this open or, failing that, the next one.
Result<void> note_pending_record(const std::string& dir, const std::string& extra);

// The members of the resilience record of acknowledged records the segments no longer hold:
// {"event":"journal_records_missing","first_seq","last_seq","segments_end_at"}.
std::string records_missing_extra(std::uint64_t first_seq, std::uint64_t last_seq);

// The members of a cut's resilience record: {"event":"journal_tail_cut","segment",...}.
std::string tail_cut_extra(const RecoveryReport& report);

// The members of the resilience record of a write outage, written once writes succeed again:
// {"event":"degradation","state":"off","cause":"journal","since",
// "failed_records","error"}.
std::string outage_end_extra(TimePoint since, std::uint64_t failed_records, std::string_view error);

}  // namespace castellan::journal
