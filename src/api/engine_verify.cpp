#include "api/engine_verify.hpp"

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "journal/journal.hpp"

#include <boost/asio/steady_timer.hpp>
#include <mutex>

namespace castellan::api {
namespace {

// A second `decision` record for a verify whose client was answered before its first record was
// durable, saying what the client got (same trace_id): at the decision deadline, 50401 — a
// grant at a fail-safe door, else a deny — or, at the transport's request timeout, a deny.
void journal_timeout(journal::Journal& journal, const journal::JournalRecord& decided,
                     bool fail_safe, bool granted_by_fail_mode) {
  journal::JournalRecord r;
  r.kind = journal::RecordKind::decision;
  r.trace_id = decided.trace_id;
  r.site = decided.site;
  r.door = decided.door;
  r.card_hash = decided.card_hash;
  r.user = decided.user;
  r.decision = std::string(access::decision_name(granted_by_fail_mode));
  r.code = static_cast<int>(Code::ERR_TIMEOUT);
  r.source = decided.source;
  r.gateway_ip = decided.gateway_ip;
  r.latency_us = decided.latency_us;
  r.dir = decided.dir;
  r.extra = granted_by_fail_mode
                ? R"({"outcome":"timeout","fail_mode":"safe","granted_by_fail_mode":true})"
                : std::string(R"({"outcome":"timeout","fail_mode":")") +
                      (fail_safe ? "safe" : "secure") + R"("})";
  journal.append(std::move(r), [trace_id = decided.trace_id](Result<journal::JournalRecord> done) {
    if (!done) {
      spdlog::error("verify {}: the timeout could not be journaled: {}", trace_id,
                    done.error().message);
    }
  });
}

// One verify waiting for its record to be durable, raced by the decision deadline: whichever
// comes first answers the client; the other only completes the record of what happened.
struct VerifyPending {
  std::mutex mu;
  bool answered = false;
  bool granted_by_fail_mode = false;  // the deadline's answer at a fail-safe door
  VerifyOutcome outcome;
  bool fail_safe = false;
  std::string site, door;
  access::Taken taken;
  std::shared_ptr<ReplyClaim> claim;
  std::function<void(Result<VerifyOutcome>)> done;
};

// The decision deadline passed before the record was durable: unless the record won the race,
// the client is answered 50401 — a grant at a fail-safe door (contract §4), never in lockdown;
// elsewhere 504, and a grant gives back what it took.
void answer_at_deadline(VerifyPending& p, access::DecisionEngine& engine,
                        std::chrono::milliseconds timeout, std::int64_t elapsed_us) {
  std::unique_lock lock(p.mu);
  if (p.answered) return;  // on record in time (the common case), or failed first
  p.answered = true;
  auto done = std::move(p.done);
  const bool ours = !p.claim || p.claim->answer();  // else the transport's 504 went out first
  p.granted_by_fail_mode = ours && p.fail_safe && !engine.in_lockdown(p.site, p.door);
  lock.unlock();
  if (!p.granted_by_fail_mode && p.outcome.granted) engine.give_back(p.taken);
  if (!ours) return;
  spdlog::warn("verify at {}/{}: not on record within {} ms: answered 50401", p.site, p.door,
               timeout.count());
  if (p.granted_by_fail_mode) return done(VerifyOutcome{true, Code::ERR_TIMEOUT, elapsed_us});
  done(make_error(Code::ERR_TIMEOUT, "The decision was not on record within " +
                                         std::to_string(timeout.count()) +
                                         " ms (decision.timeout_ms); nobody may pass."));
}

}  // namespace

EngineVerify::EngineVerify(access::DecisionEngine& engine, journal::Journal& journal,
                           const Clock& clock, std::string card_secret, VerifyDeadline deadline)
    : engine_(engine),
      journal_(journal),
      clock_(clock),
      card_secret_(std::move(card_secret)),
      deadline_(std::move(deadline)) {}

void EngineVerify::verify(const VerifyRequest& request,
                          std::function<void(Result<VerifyOutcome>)> done) {
  const auto started = clock_.monotonic();
  const auto hash = access::card_hash_from_uid(card_secret_, request.card);
  if (!hash)
    return done(make_error(Code::ERR_BAD_REQUEST, "Field 'card' must be 8 to 32 hex digits."));
  if (!request.dir.empty() && request.dir != "in" && request.dir != "out")
    return done(make_error(Code::ERR_BAD_REQUEST, "Field 'dir' must be \"in\" or \"out\"."));
  auto result = engine_.decide(access::DecisionRequest{
      request.site, request.door, *hash,
      request.dir == "out" ? access::Direction::out : access::Direction::in, clock_.now()});
  const auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.monotonic() - started).count();
  journal::JournalRecord record;
  record.kind = journal::RecordKind::decision;
  record.trace_id = request.trace_id;
  record.site = request.site;
  record.door = request.door;
  record.card_hash = to_hex(result.card_hash == Digest{} ? *hash : result.card_hash);
  record.user = result.user;
  record.decision = std::string(access::decision_name(result.granted));
  record.code = static_cast<int>(result.code);
  record.source = "api";
  record.gateway_ip = request.client_address;
  record.latency_us = latency;
  record.dir = request.dir.empty() ? "in" : request.dir;
  if (result.pass_use != 0) {
    record.pass = result.pass_id;
    record.pass_use = result.pass_use;
  }
  auto pending = std::make_shared<VerifyPending>();
  pending->outcome = VerifyOutcome{result.granted, result.code, latency};
  pending->fail_safe = result.fail_safe;
  pending->site = request.site;
  pending->door = request.door;
  pending->taken = std::move(result.taken);
  pending->claim = request.claim;
  pending->done = std::move(done);
  // The decision deadline (contract §7: a whole decision 300 ms): the client is answered 50401
  // then, as a door would be, and the record's completion only says so in the journal.
  if (deadline_.executor) {
    auto timer = std::make_shared<boost::asio::steady_timer>(deadline_.executor, deadline_.timeout);
    timer->async_wait([&engine = engine_, &clock = clock_, timeout = deadline_.timeout, pending,
                       timer, started](boost::system::error_code ec) {
      if (ec) return;
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::microseconds>(clock.monotonic() - started);
      answer_at_deadline(*pending, engine, timeout, elapsed.count());
    });
  }
  // Answer only once the decision is on disk, as for MQTT decisions. When it cannot be made
  // durable, a fail-safe door grants with 50301 (contract §4) and any other door gets 503.
  // The engine, not `this`: it is made before the journal and so outlives the flush of the
  // journal's queue at shutdown.
  journal_.append(std::move(record), [&engine = engine_, &journal = journal_,
                                      pending](Result<journal::JournalRecord> r) {
    VerifyPending& p = *pending;
    std::unique_lock lock(p.mu);
    if (p.answered) {
      // The decision deadline answered first: the journal says what the client got.
      const bool granted_by_fail_mode = p.granted_by_fail_mode;
      lock.unlock();
      if (r) journal_timeout(journal, *r, p.fail_safe, granted_by_fail_mode);
      return;
    }
    p.answered = true;
    auto done = std::move(p.done);
    lock.unlock();
    if (p.claim && !p.claim->answer()) {
      // The transport answered 504 before the decision was on disk: nobody acts on it, so a
      // grant gives back what it took, and the log says what the client got (as a door's
      // deadline does, under the same trace_id, which the anti-passback replay honours).
      if (p.outcome.granted) engine.give_back(p.taken);
      if (r) journal_timeout(journal, *r, p.fail_safe, false);
      return done(make_error(Code::ERR_TIMEOUT, "The decision came after the request's 504."));
    }
    if (r) return done(p.outcome);
    // Not while the door or its site is in lockdown: a failed disk never opens a locked-down
    // door.
    if (p.fail_safe && !engine.in_lockdown(p.site, p.door)) {
      return done(VerifyOutcome{true, Code::ERR_UNAVAILABLE, p.outcome.latency_us});
    }
    // Answered 503: a grant's pass use and anti-passback move are given back.
    if (p.outcome.granted) engine.give_back(p.taken);
    done(make_error(Code::ERR_UNAVAILABLE,
                    "The decision could not be journaled: " + r.error().message));
  });
}

}  // namespace castellan::api
