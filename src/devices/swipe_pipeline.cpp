#include <spdlog/spdlog.h>

#include <vector>

#include "access/codec.hpp"
#include "core/crypto.hpp"
#include "devices/swipe_pipeline_core.hpp"

namespace castellan::devices {
namespace {

// True while this thread runs Core::handle() and so holds a shared lock on `lifetime`. A
// journal that refuses a record at once (closing) calls back on this thread, inside handle(),
// and on_durable() must not lock `lifetime` a second time.
thread_local bool t_in_handle = false;

struct InHandle {
  InHandle() { t_in_handle = true; }
  ~InHandle() { t_in_handle = false; }
  InHandle(const InHandle&) = delete;
  InHandle& operator=(const InHandle&) = delete;
};

}  // namespace

void SwipePipeline::Core::handle(std::string_view site, std::string_view door_id,
                                 std::string_view payload) {
  std::shared_lock life(lifetime);
  if (closed) return;
  InHandle in_handle;
  auto received = clock.monotonic();
  SwipeParse parsed = parse_swipe(payload, options.max_payload_bytes);
  if (parsed.req.empty()) {
    if (parsed.error) metrics.rejected(parsed.error->reason);
    // No usable req: nothing a controller could match a reply to (contract §3: no reply).
    spdlog::debug("swipe at {}/{} rejected without reply: {}", site, door_id,
                  parsed.error ? parsed.error->message : std::string("no req"));
    return;
  }
  // Hashed before the table: what was swiped is part of the key, and a 40401 or 40001 record
  // names the card too.
  access::CardHash hash{};
  std::string card_hash_hex;
  std::string_view dir_name;
  if (parsed.swipe) {
    hash = access::card_hash_of(card_secret, parsed.swipe->card_uid);
    card_hash_hex = to_hex(hash);
    dir_name = direction_name(parsed.swipe->dir);
  }
  auto p = pending_for(site, door_id, parsed.req, std::move(card_hash_hex), dir_name);
  p->received = received;
  p->deadline = received + options.decision_timeout;
  p->trace_id = new_trace_id();
  {
    std::unique_lock lock(mu);
    // Only new swipes count against the door's limit: a copy of one already taken is answered
    // from the table whatever the rate.
    if (table.find(p->key) == nullptr && !limiter.take(p->door.site, p->door.id, received)) {
      ++stats.rate_limited;
      lock.unlock();
      // Refused unjournaled, but with the code the swipe would have had anyway when it was
      // never going to be decided (contract §4: 40401 first), and counted under one reason.
      const Code code = !p->door_known ? Code::ERR_DOOR_UNKNOWN
                        : parsed.error ? Code::ERR_BAD_REQUEST
                                       : Code::ERR_RATE_LIMITED;
      metrics.rejected(parsed.error    ? parsed.error->reason
                       : p->door_known ? RejectReason::kRateLimited
                                       : RejectReason::kUnknownDoor);
      answer(*p, Outcome{false, code, 0}, 1, false);
      return;
    }
    const DedupeTable<Outcome, Pending>::Entry* done = nullptr;
    auto state = table.begin(p->key, received, p, &done);
    if (state != DedupeTable<Outcome, Pending>::State::kNew) {
      ++stats.duplicates;
      metrics.duplicate();
      if (state == DedupeTable<Outcome, Pending>::State::kInFlight) return;  // answered later
      Pending first = *done->context;  // a copy taken under the lock
      const Outcome outcome = *done->outcome;
      if (granted_into_lockdown(first, outcome)) {
        auto reissued = reissue_in_lockdown(std::move(first), *p);
        lock.unlock();
        journal_lockdown_answer(reissued, 1);
        return;
      }
      lock.unlock();
      answer(first, outcome, 1, false);
      return;
    }
    ++stats.decided;
    if (parsed.error) metrics.rejected(parsed.error->reason);  // once, not for each copy
  }
  std::string gateway_ip = publisher.gateway_ip();  // after the duplicates: they are not journaled

  Outcome outcome;
  std::string user, extra, pass_id;
  std::uint32_t pass_use = 0;
  access::Taken taken;
  if (!p->door_known) {
    if (!parsed.error) metrics.rejected(RejectReason::kUnknownDoor);
    outcome = Outcome{false, Code::ERR_DOOR_UNKNOWN, 0};
  } else if (parsed.error) {
    outcome = Outcome{false, Code::ERR_BAD_REQUEST, 0};
  } else {
    const SwipeRequest& swipe = *parsed.swipe;
    if (too_old(swipe)) {
      // Queued by the broker while the service was away (its session outlives a restart): the
      // controller stopped waiting long ago. The swipe missed its deadline before it arrived,
      // so it gets 50401 with the door's fail mode, and the engine is not asked: no pass use
      // is taken and no anti-passback position moves for a door that never opened.
      outcome = failure_outcome(*p, Code::ERR_TIMEOUT);
      extra = outcome_extra("swipe_too_old", p->door.fail_safe, outcome.grant);
      metrics.rejected(RejectReason::kTooOld);
      spdlog::debug("swipe {} at {}/{} arrived after max_swipe_age_ms", p->trace_id, site, door_id);
    } else {
      access::DecisionRequest request;
      request.site = p->door.site;
      request.door = p->door.id;
      request.card_hash = hash;
      request.dir = swipe.dir == Direction::kIn ? access::Direction::in : access::Direction::out;
      request.now = clock.now();
      access::DecisionResult result = engine.decide(request);
      user = result.user;
      pass_id = std::move(result.pass_id);
      pass_use = result.pass_use;
      taken = std::move(result.taken);
      outcome = Outcome{result.granted, result.code, result.granted ? p->door.unlock_ms : 0};
    }
  }
  journal::JournalRecord record;
  {
    // Only now does the deadline (ticker thread) see this swipe, so it never answers a swipe
    // whose decision is still being made and misses what the engine took. Deciding is pure
    // CPU work of microseconds; the deadline still counts from `received`.
    std::lock_guard lock(mu);
    p->user = std::move(user);
    p->gateway_ip = std::move(gateway_ip);
    p->taken = std::move(taken);
    p->decided = outcome;
    in_flight.push_back(p);
    unsettled.fetch_add(1);
    record = record_of(*p, outcome, std::move(extra));
  }
  if (pass_use != 0) {
    record.pass = std::move(pass_id);
    record.pass_use = pass_use;
  }
  journal.append(std::move(record), [weak = weak_from_this(), p](Result<journal::JournalRecord> r) {
    if (auto core = weak.lock()) core->on_durable(p, r);
  });
}

void SwipePipeline::Core::on_durable(const std::shared_ptr<Pending>& p,
                                     const Result<journal::JournalRecord>& r) {
  std::shared_lock life(lifetime, std::defer_lock);
  if (!t_in_handle) life.lock();  // else handle() on this thread holds it already
  if (closed) return;
  Outcome outcome = r ? p->decided : failure_outcome(*p, Code::ERR_UNAVAILABLE);
  bool late = false;
  std::uint32_t copies = 0;
  {
    std::lock_guard lock(mu);
    if (!r) ++stats.journal_failures;
    auto* entry = table.find(p->key);
    if (!entry || entry->context.get() != p.get() ||
        entry->state != DedupeTable<Outcome, Pending>::State::kInFlight) {
      settle(*p);
      return;  // the deadline answered first (and its entry may be gone since)
    }
    // Durable after its deadline but before the ticker (every 20 ms) saw it: the controller
    // has stopped waiting, so the answer is the deadline's, as if the ticker had been first.
    late = r && clock.monotonic() >= p->deadline;
    if (late) {
      outcome = failure_outcome(*p, Code::ERR_TIMEOUT);
      ++stats.timeouts;
      copies = 1 + table.finish(p->key, p.get(), outcome)->waiting_duplicates;
    } else {
      // The entry stays in flight until the door's answer is out: a grant that cannot be
      // published becomes 50301, and a copy arriving meanwhile must get that, not the grant.
      p->answering = true;
    }
  }
  if (late) {
    miss_deadline(*p, outcome, copies);
  } else {
    if (!r) {
      spdlog::warn("journal unavailable for swipe {} at {}/{}: {}", p->trace_id, p->door.site,
                   p->door.id, r.error().message);
      give_back_if_denied(*p, outcome);
      journal_outcome(*p, outcome, "journal_unavailable");
    }
    const Outcome given = answer(*p, outcome, 1, true);
    std::shared_ptr<Pending> reissued;  // the copies' 40309: the door went into lockdown since
    {
      std::lock_guard lock(mu);
      if (auto* entry = table.finish(p->key, p.get(), given)) copies = entry->waiting_duplicates;
      if (copies > 0 && granted_into_lockdown(*p, given)) reissued = reissue_in_lockdown(*p, *p);
    }
    if (reissued) {
      journal_lockdown_answer(reissued, copies);
    } else if (copies > 0) {
      answer(*p, given, copies, false);
    }
  }
  std::lock_guard lock(mu);
  settle(*p);
}

std::shared_ptr<SwipePipeline::Pending> SwipePipeline::Core::reissue_in_lockdown(
    Pending first, const Pending& copy) {
  auto reissued = std::make_shared<Pending>(std::move(first));
  reissued->trace_id = copy.trace_id;  // the record is this copy's
  reissued->received = copy.received;
  table.reopen(reissued->key, reissued);
  return reissued;
}

void SwipePipeline::Core::journal_lockdown_answer(const std::shared_ptr<Pending>& reissued,
                                                  std::uint32_t copies) {
  const Outcome lockdown{false, Code::ERR_DOOR_LOCKDOWN, 0};
  journal.append(
      record_of(*reissued, lockdown,
                outcome_extra("duplicate_after_lockdown", reissued->door.fail_safe, false)),
      [weak = weak_from_this(), reissued, lockdown, copies](Result<journal::JournalRecord> r) {
        if (auto core = weak.lock())
          core->on_lockdown_answer_durable(reissued, lockdown, copies, r);
      });
}

void SwipePipeline::Core::on_lockdown_answer_durable(const std::shared_ptr<Pending>& p,
                                                     const Outcome& outcome, std::uint32_t copies,
                                                     const Result<journal::JournalRecord>& r) {
  std::shared_lock life(lifetime, std::defer_lock);
  if (!t_in_handle) life.lock();  // else handle() on this thread holds it already
  if (closed) return;
  if (!r) spdlog::warn("lockdown answer {} not journaled: {}", p->trace_id, r.error().message);
  {
    std::lock_guard lock(mu);
    if (auto* entry = table.finish(p->key, p.get(), outcome)) copies += entry->waiting_duplicates;
  }
  answer(*p, outcome, copies, false);
}

void SwipePipeline::Core::expire() {
  std::shared_lock life(lifetime);
  if (closed) return;
  struct Due {
    std::shared_ptr<Pending> swipe;  // settled once answered
    Pending pending;                 // a copy taken under the lock
    Outcome outcome;
    std::uint32_t copies;
  };
  std::vector<Due> due;
  std::vector<DoorRateLimiter::Report> floods;
  {
    std::lock_guard lock(mu);
    auto now = clock.monotonic();
    while (!in_flight.empty()) {
      auto p = in_flight.front();
      auto* entry = table.find(p->key);
      // The same key may have been evicted and begun again: only this swipe's own entry counts.
      if (entry && entry->context == p && !p->answering &&
          entry->state == DedupeTable<Outcome, Pending>::State::kInFlight) {
        if (p->deadline > now) break;
        Outcome outcome = failure_outcome(*p, Code::ERR_TIMEOUT);
        table.finish(p->key, p.get(), outcome);
        due.push_back(Due{p, *p, outcome, 1 + entry->waiting_duplicates});
        ++stats.timeouts;
      }
      // Else answered, or being answered, by on_durable(), which settles it once published
      // (settling it here would let a drain stop the broker connection before that publish).
      in_flight.pop_front();
    }
    table.expire(now);
    floods = limiter.due(now);
  }
  for (const auto& f : floods) {
    spdlog::warn("{} swipe(s) at {}/{} refused 42901 over its limit of {} per second", f.refused,
                 f.site, f.door, options.door_swipes_per_s);
    append_logged(journal,
                  swipes_rate_limited_record(f.site, f.door, f.refused, options.door_swipes_per_s));
  }
  for (const auto& d : due) {
    miss_deadline(d.pending, d.outcome, d.copies);
    std::lock_guard lock(mu);
    settle(*d.swipe);
  }
}

SwipePipeline::SwipePipeline(const Clock& clock, SwipeOptions options, const DoorDirectory& doors,
                             access::DecisionEngine& engine, std::string card_secret,
                             JournalSink& journal, Publisher& publisher,
                             DoorStateTracker& door_states, DeviceMetrics& metrics)
    : core_(std::make_shared<Core>(clock, options, doors, engine, std::move(card_secret), journal,
                                   publisher, door_states, metrics)) {}

SwipePipeline::~SwipePipeline() {
  std::unique_lock life(core_->lifetime);
  core_->closed = true;
}

void SwipePipeline::handle(std::string_view site, std::string_view door, std::string_view payload) {
  core_->handle(site, door, payload);
}

void SwipePipeline::remember(const journal::JournalRecord& r) {
  core_->remember(r);
}

void SwipePipeline::expire_overdue() {
  core_->expire();
}

std::size_t SwipePipeline::unanswered() const {
  return core_->unsettled.load();
}

SwipeStats SwipePipeline::stats() const {
  std::lock_guard lock(core_->mu);
  SwipeStats s = core_->stats;
  s.dedupe_entries = core_->table.size();
  return s;
}

}  // namespace castellan::devices
