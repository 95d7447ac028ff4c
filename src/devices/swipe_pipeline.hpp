// SwipePipeline: one swipe from payload to signed decision (contract §3, §4, §5).
//
//   parse -> de-duplicate (site, door, req) -> decide (DecisionEngine, in memory) ->
//   journal `decision` record -> [durable callback] -> publish signed decision
//
// Nothing here blocks the MQTT thread: the journal's durable callback completes the publish.
// Each decision has a deadline (decision.timeout_ms): expire_overdue(), driven by the device
// ticker, answers swipes still waiting with 50401, which grants on fail_mode = "safe" doors.
// A journal failure (disk full) answers 50301, likewise granting on safe doors. In both cases
// the published outcome is journaled as its own `decision` record with the same trace_id and
// extra {"outcome":"timeout"|"journal_unavailable","fail_mode":...} when the journal takes it.
//
// Thread-safety: handle() may run on any thread; completions come from the journal thread,
// expiry from the ticker. One mutex guards the de-duplication table; signing and publishing
// happen outside it.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "access/engine.hpp"
#include "core/clock.hpp"
#include "devices/dedupe.hpp"
#include "devices/device_metrics.hpp"
#include "devices/door_rate_limiter.hpp"
#include "devices/door_state.hpp"
#include "devices/ports.hpp"
#include "journal/record.hpp"

namespace castellan::devices {

struct SwipeOptions {
  std::chrono::milliseconds decision_timeout{300};
  std::chrono::seconds dedupe_window{60};
  std::chrono::seconds signature_ttl{10};
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
  std::size_t max_dedupe_entries = 1'000'000;
  // Swipes older than this by their `ts` are answered 50401 undecided; 0: no check.
  std::chrono::milliseconds max_swipe_age{10000};
  // New swipes per door and second (bursts of two seconds' worth); over it: 42901. 0: no limit.
  int door_swipes_per_s = 20;
};

struct SwipeStats {
  std::uint64_t decided = 0;     // swipes given to the engine (or answered 40001/40401)
  std::uint64_t published = 0;   // decision messages handed to the publisher
  std::uint64_t duplicates = 0;  // copies answered from the table
  std::uint64_t timeouts = 0;    // answered 50401 by the deadline
  std::uint64_t journal_failures = 0;
  std::uint64_t publish_failures = 0;
  std::uint64_t rate_limited = 0;  // new swipes over their door's limit (answered 42901)
  std::size_t dedupe_entries = 0;
};

// The de-duplication key of a swipe: (site, door, req) and what was swiped (the card's hash
// and the direction; both empty for a payload that does not parse). A copy is a re-delivery
// of the same message (contract §3); a reused req with another card or direction is another
// swipe, decided and journaled on its own, never answered with the first card's decision.
inline std::string swipe_key(std::string_view site, std::string_view door, std::string_view req,
                             std::string_view card_hash_hex, std::string_view dir) {
  std::string key;
  key.reserve(site.size() + door.size() + req.size() + card_hash_hex.size() + dir.size() + 4);
  for (std::string_view part : {site, door, req, card_hash_hex}) key.append(part).append(1, '\x1f');
  return key.append(dir);
}

class SwipePipeline {
 public:
  SwipePipeline(const Clock& clock, SwipeOptions options, const DoorDirectory& doors,
                access::DecisionEngine& engine, std::string card_secret, JournalSink& journal,
                Publisher& publisher, DoorStateTracker& door_states, DeviceMetrics& metrics);
  // After this returns, late journal callbacks do nothing.
  ~SwipePipeline();
  SwipePipeline(const SwipePipeline&) = delete;
  SwipePipeline& operator=(const SwipePipeline&) = delete;

  // One message from …/doors/{door}/swipe (topic already parsed).
  void handle(std::string_view site, std::string_view door, std::string_view payload);

  // Answers decisions past their deadline and forgets answers older than the window.
  void expire_overdue();

  // Seeds the de-duplication table at start with an answer journaled before a restart (`r`:
  // the newest `decision` record of an MQTT swipe), so that a copy of that swipe re-sent after
  // the restart gets the same answer and is neither decided nor journaled again (contract §3).
  // Ignored once the window has passed since the record's `ts`. Call before the first handle().
  void remember(const journal::JournalRecord& r);

  SwipeStats stats() const;

  // Swipes decided whose answer is not published yet (waiting for the journal or their
  // deadline). Shutdown waits for it to reach 0 before it leaves the broker.
  std::size_t unanswered() const;

  struct Pending;  // one swipe in flight (defined in the .cpp)
  struct Outcome {
    bool grant = false;
    Code code = Code::ERR_CARD_UNKNOWN;
    std::int64_t unlock_ms = 0;
  };

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace castellan::devices
