// Anti-passback positions live in the decision engine's memory. At start they are rebuilt from
// the journal, so that a card that entered before a restart cannot enter again afterwards
// (contract §6: denied "until an out grant there or apb_reset_hours pass").
//
// What is replayed: the decision records of the last apb_reset_hours (of the door's site) that
// the engine granted (code 0) at a door that is an anti-passback door in the current data,
// with their direction ("dir"), oldest first, each at its own time. A grant the door never got
// (its trace_id, door and card_hash journaled again as a 50301/50401 deny) is left out, as it
// was given back then.
#pragma once

#include <cstdint>

#include "access/passback.hpp"
#include "access/snapshot.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "journal/journal.hpp"

namespace castellan::app {

struct PassbackReplay {
  std::uint64_t decisions_read = 0;  // decision records of the anti-passback doors' windows
  std::uint64_t grants_applied = 0;
  std::uint64_t grants_skipped = 0;  // never reached their door
};

Result<PassbackReplay> replay_passback(const journal::Journal& journal,
                                       const access::Snapshot& snapshot,
                                       access::AntiPassbackTracker& tracker, TimePoint now);

}  // namespace castellan::app
