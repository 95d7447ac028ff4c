// SwipePipeline's insides, shared by its two source files: swipe_pipeline.cpp (taking a swipe,
// deciding it, the journal's answer, the deadline) and swipe_answers.cpp (publishing answers
// and what a failed or late one gives back). Private to src/devices/.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "devices/dedupe.hpp"
#include "devices/door_rate_limiter.hpp"
#include "devices/journal_records.hpp"
#include "devices/swipe_pipeline.hpp"

namespace castellan::devices {

struct SwipePipeline::Pending {
  std::string key;  // swipe_key()
  DoorInfo door;    // key empty for an unknown door
  bool door_known = false;
  std::string req;
  std::string trace_id;
  std::string user;
  std::string card_hash_hex;
  std::string gateway_ip;  // the broker it came through
  Direction dir = Direction::kIn;
  Clock::Monotonic received{};
  Clock::Monotonic deadline{};
  Outcome decided;       // the engine's (or the validator's) answer
  access::Taken taken;   // what the engine's grant took; given back if the door gets a deny
  bool settled = false;  // answered, or no longer this pipeline's to answer (under Core::mu)
  // on_durable() is publishing the first answer (under Core::mu): the deadline leaves it alone,
  // and copies wait in the table until that answer, as the door got it, is known.
  bool answering = false;
};

struct SwipePipeline::Core : std::enable_shared_from_this<SwipePipeline::Core> {
  Core(const Clock& c, SwipeOptions o, const DoorDirectory& d, access::DecisionEngine& e,
       std::string secret, JournalSink& j, Publisher& p, DoorStateTracker& ds, DeviceMetrics& m)
      : clock(c),
        options(o),
        doors(d),
        engine(e),
        card_secret(std::move(secret)),
        journal(j),
        publisher(p),
        door_states(ds),
        metrics(m),
        table(std::chrono::duration_cast<std::chrono::milliseconds>(o.dedupe_window),
              o.max_dedupe_entries),
        limiter(o.door_swipes_per_s) {}

  const Clock& clock;
  SwipeOptions options;
  const DoorDirectory& doors;
  access::DecisionEngine& engine;
  std::string card_secret;
  JournalSink& journal;
  Publisher& publisher;
  DoorStateTracker& door_states;
  DeviceMetrics& metrics;

  std::shared_mutex lifetime;  // shared: a callback is running; unique: shutting down
  bool closed = false;

  mutable std::mutex mu;
  DedupeTable<Outcome, Pending> table;
  DoorRateLimiter limiter;
  std::deque<std::shared_ptr<Pending>> in_flight;  // decided order (≈ deadline order)
  std::atomic<std::size_t> unsettled{0};           // decided swipes whose answer is not out yet
  SwipeStats stats;

  // Once per swipe: its answer is out (or someone else's answer was, or it was forgotten).
  // Called with `mu` held.
  void settle(Pending& p) {
    if (p.settled) return;
    p.settled = true;
    unsettled.fetch_sub(1);
  }

  void handle(std::string_view site, std::string_view door_id, std::string_view payload);
  void on_durable(const std::shared_ptr<Pending>& p, const Result<journal::JournalRecord>& r);
  void expire();
  // Publishes `outcome` to `copies` copies of the swipe. Returns the answer the door is left
  // with: a first grant that could not be published at all becomes 50301.
  Outcome answer(const Pending& p, const Outcome& outcome, std::uint32_t copies, bool first);
  void remember(const journal::JournalRecord& r);
  // A swipe of `req` at a door: its table key and the door (known or not). `card_hash_hex` and
  // `dir` are empty for a payload that does not parse.
  std::shared_ptr<Pending> pending_for(std::string_view site, std::string_view door_id,
                                       const std::string& req, std::string card_hash_hex,
                                       std::string_view dir) const;
  // Lockdown wins over "the same decision": a grant must not open a door that has gone into
  // lockdown since it was decided.
  bool granted_into_lockdown(const Pending& first, const Outcome& outcome) const {
    return outcome.grant && first.door_known && engine.in_lockdown(first.door.site, first.door.id);
  }
  // Copies of the granted swipe `first` get 40309 instead (`copy`: the one that came now,
  // whose record it will be), once that answer is on record: the entry is in flight again, so
  // copies that come meanwhile wait for it, as for a first copy. Called with `mu` held.
  std::shared_ptr<Pending> reissue_in_lockdown(Pending first, const Pending& copy);
  // Journals the reissued 40309 (without `mu`); on_lockdown_answer_durable() publishes it.
  void journal_lockdown_answer(const std::shared_ptr<Pending>& reissued, std::uint32_t copies);
  // Publishes the 40309 once its record is durable (or failed: a deny may go out anyway), to
  // `copies` copies and those that waited for it.
  void on_lockdown_answer_durable(const std::shared_ptr<Pending>& p, const Outcome& outcome,
                                  std::uint32_t copies, const Result<journal::JournalRecord>& r);
  // The deadline's answer (50401 with the door's fail mode): logged, journaled, published.
  void miss_deadline(const Pending& p, const Outcome& outcome, std::uint32_t copies);
  void give_back_if_denied(const Pending& p, const Outcome& outcome);
  void journal_outcome(const Pending& p, const Outcome& outcome, std::string_view why);
  // The `extra` of a record whose outcome the engine did not make: why, and the fail mode.

  bool too_old(const SwipeRequest& swipe) const {
    return options.max_swipe_age.count() > 0 && swipe.ts &&
           clock.now() - *swipe.ts > options.max_swipe_age;
  }

  // 50401/50301: deny, except at a fail-safe door (contract §4), which grants unless it or its
  // site is in lockdown (an operator's lockdown is never opened by a slow or failed disk).
  Outcome failure_outcome(const Pending& p, Code code) const {
    bool grant = p.door_known && p.door.fail_safe && !engine.in_lockdown(p.door.site, p.door.id);
    return Outcome{grant, code, grant ? p.door.unlock_ms : 0};
  }

  journal::JournalRecord record_of(const Pending& p, const Outcome& o, std::string extra) const {
    journal::JournalRecord r;
    r.kind = journal::RecordKind::decision;
    r.trace_id = p.trace_id;
    r.site = p.door.site;
    r.door = p.door.id;
    r.req = p.req;
    r.card_hash = p.card_hash_hex;
    if (!p.card_hash_hex.empty()) r.dir = std::string(direction_name(p.dir));  // a parsed swipe
    r.user = p.user;
    r.decision = o.grant ? "grant" : "deny";
    r.code = static_cast<int>(o.code);
    r.source = "mqtt";
    r.gateway_ip = p.gateway_ip;
    r.latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(clock.monotonic() - p.received)
            .count();
    r.extra = std::move(extra);
    return r;
  }
};

}  // namespace castellan::devices
