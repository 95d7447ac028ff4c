// Pass use counts are saved to the store off the decision path (store/PassUseFlusher), so a
// crash can keep the last uses from being saved although their grants opened a door. Every
// such grant is in the journal, durable before its door was told: at start, the decision
// records since the counts were last saved raise each pass's count to the highest use number
// (`pass_use`) journaled for it, so that a pass of N uses still grants at most N times.
//
// What is read: decision records from the store's saved-at time (minus a margin for a wall
// clock that stepped back) to now. A grant the door never got (its trace_id, door and card_hash
// journaled again as a 50301/50401 deny) is left out, as its use was given back then. A count is
// only ever raised; taking the highest use number (not a count of grants) makes a use that was both
// saved and journaled count once. When the counts were never saved, nothing is read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "journal/journal.hpp"

namespace castellan::app {

// How far before the saved-at time records are read.
inline constexpr std::chrono::seconds kPassUseReplayMargin{30};

struct PassUseReplay {
  std::uint64_t decisions_read = 0;  // decision records of the window
  std::uint64_t passes_raised = 0;   // passes whose count the journal raised
  std::uint64_t uses_recovered = 0;  // uses taken but not saved before the stop
};

// Raises the counts in `ledger` (marking them dirty, so that they are saved) for the passes
// of `snapshot`.
Result<PassUseReplay> replay_pass_uses(const journal::Journal& journal,
                                       const access::Snapshot& snapshot,
                                       access::PassUseLedger& ledger,
                                       std::optional<TimePoint> saved_at);

}  // namespace castellan::app
