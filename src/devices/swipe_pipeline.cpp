#include "devices/swipe_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "access/codec.hpp"
#include "core/crypto.hpp"
#include "devices/journal_records.hpp"
#include "devices/outgoing.hpp"
#include "devices/topics.hpp"

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

struct SwipePipeline::Pending {
  std::string key;  // site \x1f door \x1f req
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
  void answer(const Pending& p, const Outcome& outcome, std::uint32_t copies, bool first);
  void remember(const journal::JournalRecord& r);
  // A swipe of `req` at a door: its table key and the door (known or not).
  std::shared_ptr<Pending> pending_for(std::string_view site, std::string_view door_id,
                                       const std::string& req) const;
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

void SwipePipeline::Core::handle(std::string_view site, std::string_view door_id,
                                 std::string_view payload) {
  std::shared_lock life(lifetime);
  if (closed) return;
  InHandle in_handle;
  auto received = clock.monotonic();
  SwipeParse parsed = parse_swipe(payload, options.max_payload_bytes);
  if (parsed.error) metrics.rejected(parsed.error->reason);
  if (parsed.req.empty()) {
    // No usable req: nothing a controller could match a reply to (contract §3: no reply).
    spdlog::debug("swipe at {}/{} rejected without reply: {}", site, door_id,
                  parsed.error ? parsed.error->message : std::string("no req"));
    return;
  }
  auto p = pending_for(site, door_id, parsed.req);
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
      if (!parsed.error) {
        metrics.rejected(p->door_known ? RejectReason::kRateLimited : RejectReason::kUnknownDoor);
      }
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
      Outcome outcome = *done->outcome;
      // Lockdown wins over "the same decision": a grant must not open a door that has gone
      // into lockdown since. The copy, and every later one, gets 40309, on record.
      const bool locked_out =
          outcome.grant && first.door_known && engine.in_lockdown(first.door.site, first.door.id);
      if (locked_out) {
        outcome = Outcome{false, Code::ERR_DOOR_LOCKDOWN, 0};
        table.find(p->key)->outcome = outcome;
        first.trace_id = p->trace_id;  // the record is this copy's
        first.received = p->received;
      }
      lock.unlock();
      answer(first, outcome, 1, false);
      if (locked_out) journal_outcome(first, outcome, "duplicate_after_lockdown");
      return;
    }
    ++stats.decided;
  }
  std::string gateway_ip = publisher.gateway_ip();  // after the duplicates: they are not journaled

  Outcome outcome;
  std::string user, card_hash_hex, extra, pass_id;
  std::uint32_t pass_use = 0;
  access::Taken taken;
  Direction dir = Direction::kIn;
  if (!p->door_known) {
    if (!parsed.error) metrics.rejected(RejectReason::kUnknownDoor);
    outcome = Outcome{false, Code::ERR_DOOR_UNKNOWN, 0};
  } else if (parsed.error) {
    outcome = Outcome{false, Code::ERR_BAD_REQUEST, 0};
  } else {
    const SwipeRequest& swipe = *parsed.swipe;
    access::CardHash hash = access::card_hash_of(card_secret, swipe.card_uid);
    card_hash_hex = to_hex(hash);
    dir = swipe.dir;
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
    p->card_hash_hex = std::move(card_hash_hex);
    p->taken = std::move(taken);
    p->dir = dir;
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
  std::uint32_t copies = 0;
  bool late = false;
  {
    std::lock_guard lock(mu);
    if (!r) ++stats.journal_failures;
    // Durable after its deadline but before the ticker (every 20 ms) saw it: the controller
    // has stopped waiting, so the answer is the deadline's, as if the ticker had been first.
    late = r && clock.monotonic() >= p->deadline;
    if (late) outcome = failure_outcome(*p, Code::ERR_TIMEOUT);
    auto* entry = table.finish(p->key, p.get(), outcome);
    if (!entry) {
      settle(*p);
      return;  // the deadline answered first (and its entry may be gone since)
    }
    if (late) ++stats.timeouts;
    copies = 1 + entry->waiting_duplicates;
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
    answer(*p, outcome, copies, true);
  }
  std::lock_guard lock(mu);
  settle(*p);
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
      if (entry && entry->context == p &&
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

void SwipePipeline::Core::miss_deadline(const Pending& p, const Outcome& outcome,
                                        std::uint32_t copies) {
  spdlog::warn("swipe {} at {}/{} missed its {} ms deadline", p.trace_id, p.door.site, p.door.id,
               options.decision_timeout.count());
  give_back_if_denied(p, outcome);
  journal_outcome(p, outcome, "timeout");
  answer(p, outcome, copies, true);
}

void SwipePipeline::Core::give_back_if_denied(const Pending& p, const Outcome& outcome) {
  // The engine granted (taking a pass use, moving the card inside) but the door is told "deny":
  // nobody passed, so nothing may stay taken.
  if (p.decided.grant && !outcome.grant) engine.give_back(p.taken);
}

void SwipePipeline::Core::journal_outcome(const Pending& p, const Outcome& outcome,
                                          std::string_view why) {
  append_logged(journal,
                record_of(p, outcome, outcome_extra(why, p.door.fail_safe, outcome.grant)));
}

void SwipePipeline::Core::answer(const Pending& p, const Outcome& outcome, std::uint32_t copies,
                                 bool first) {
  DecisionMessage m = make_decision_message(
      p.door.site, p.door.id, p.door.key, p.req, outcome.grant, static_cast<int>(outcome.code),
      outcome.unlock_ms,
      clock.now() + std::chrono::duration_cast<std::chrono::microseconds>(options.signature_ttl));
  if (p.door.key.empty()) m.sig.clear();  // unknown door: no key to sign with
  std::string topic = decision_topic(p.door.site, p.door.id);
  std::string payload = serialize(m);
  // Before publishing: a fast controller's "contact open" must find the opening authorised.
  // A grant sent again to a duplicate carries a fresh `exp`, so the door may open on it now.
  DoorStateTracker::Authorisation opened;
  if (first && p.door_known) {
    opened = door_states.on_decision(p.door, outcome.grant, p.user, p.dir, p.trace_id,
                                     static_cast<int>(outcome.unlock_ms));
  } else if (p.door_known && outcome.grant) {
    opened = door_states.authorise(p.door, static_cast<int>(outcome.unlock_ms));
  }
  std::uint64_t sent = 0, failed = 0;
  for (std::uint32_t i = 0; i < copies; ++i) {
    if (publisher.publish(topic, payload)) {
      ++sent;
    } else {
      ++failed;
      metrics.publish_failed();
    }
  }
  if (first) {
    double seconds = std::chrono::duration<double>(clock.monotonic() - p.received).count();
    metrics.decision(outcome.code, seconds);
  }
  if (opened.until != opened.previous && sent == 0 && failed > 0) {
    door_states.withdraw(p.door, opened);  // the door got nothing
  }
  if (first && sent == 0 && failed > 0 && outcome.grant && outcome.code == Code::OK) {
    // The door never got its grant (no broker connection at that moment) and denies on its
    // own timeout: as for a deadline, what the grant took is given back, the log says what
    // happened, and a copy of the swipe re-sent after the reconnect gets that same answer.
    const Outcome refused = failure_outcome(p, Code::ERR_UNAVAILABLE);
    {
      std::lock_guard lock(mu);
      auto* entry = table.find(p.key);
      if (entry && entry->context.get() == &p) entry->outcome = refused;
    }
    give_back_if_denied(p, refused);
    if (p.door_known) door_states.grant_not_received(p.door, p.trace_id);
    journal_outcome(p, refused, "publish_failed");
  }
  std::lock_guard lock(mu);
  stats.published += sent;
  stats.publish_failures += failed;
}

std::shared_ptr<SwipePipeline::Pending> SwipePipeline::Core::pending_for(
    std::string_view site, std::string_view door_id, const std::string& req) const {
  auto p = std::make_shared<Pending>();
  p->req = req;
  p->key = swipe_key(site, door_id, req);
  if (auto door = doors.find(site, door_id)) {
    p->door = std::move(*door);
    p->door_known = true;
  } else {
    p->door.site = std::string(site);
    p->door.id = std::string(door_id);
    p->door.unlock_ms = 0;
  }
  return p;
}

void SwipePipeline::Core::remember(const journal::JournalRecord& r) {
  const auto age = std::max(clock.now() - r.ts, TimePoint::duration::zero());
  if (r.req.empty() || age >= options.dedupe_window) return;
  auto p = pending_for(r.site, r.door, r.req);
  p->trace_id = r.trace_id;
  p->user = r.user;
  p->card_hash_hex = r.card_hash;
  p->gateway_ip = r.gateway_ip;
  p->dir = r.dir == "out" ? Direction::kOut : Direction::kIn;
  const bool grant = r.decision == "grant";
  p->decided =
      Outcome{grant, static_cast<Code>(r.code.value_or(static_cast<int>(Code::ERR_INTERNAL))),
              grant ? p->door.unlock_ms : 0};
  p->received = clock.monotonic() - std::chrono::duration_cast<Clock::Monotonic::duration>(age);
  std::lock_guard lock(mu);
  table.seed(p->key, p->received, p->decided, p);
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
