// The swipe pipeline's de-duplication table lives in memory. A controller that got no answer
// (the server crashed between journaling a decision and publishing it, or its own connection
// dropped) re-sends the same `req` after the restart; contract §3 wants the same decision,
// journaled once. So at start, before the first swipe, the table is seeded from the journal:
// for each (site, door, req) of an MQTT `decision` record of the last dedupe window, its
// newest record (a deadline's or publish failure's 50401/50301 replaces the engine's answer,
// as it did in the table) is remembered with its own `ts`.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/result.hpp"
#include "core/time.hpp"
#include "devices/swipe_pipeline.hpp"
#include "journal/journal.hpp"

namespace castellan::app {

// Returns how many answers were remembered.
Result<std::uint64_t> replay_swipe_answers(const journal::Journal& journal,
                                           devices::SwipePipeline& swipes, TimePoint now,
                                           std::chrono::seconds window);

}  // namespace castellan::app
