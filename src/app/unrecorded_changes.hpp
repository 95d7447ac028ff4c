// A change made through the API is committed to the store before its admin record is durable
// (api/api_service.cpp, audit()), and the store notes it in the same transaction until the
// record is (store.hpp, "Unrecorded changes"). A crash between the two leaves the note: at
// start, before the API serves, every noted change that no admin record of the journal names
// (by `what.change_id`) is journaled as an admin record of its own, action "recovered_change",
// with who, the route, when and what it wrote; then the notes are dropped. A note whose record
// is in the journal (the crash came after the record, before the note was dropped) is only
// dropped, so a change is never on record twice.
#pragma once

#include <chrono>
#include <cstddef>

#include "core/result.hpp"
#include "journal/journal.hpp"
#include "store/store.hpp"

namespace castellan::app {

// How far before a note's time the journal is searched for its record (a wall clock that was
// set back between the commit and the record).
inline constexpr std::chrono::minutes kChangeRecordMargin{10};

struct RecoveredChanges {
  std::size_t noted = 0;      // changes the store had notes of
  std::size_t journaled = 0;  // of them, journaled now as "recovered_change"
};

// Fails (and keeps the notes not journaled yet) when the store or the journal does.
Result<RecoveredChanges> journal_unrecorded_changes(store::Store& store, journal::Journal& journal);

}  // namespace castellan::app
