#include "api/engine_verify.hpp"

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "journal/journal.hpp"

namespace castellan::api {
namespace {

// A second `decision` record for a verify whose client got 504: deny 50401, same trace_id.
void journal_timeout(journal::Journal& journal, const journal::JournalRecord& decided) {
  journal::JournalRecord r;
  r.kind = journal::RecordKind::decision;
  r.trace_id = decided.trace_id;
  r.site = decided.site;
  r.door = decided.door;
  r.card_hash = decided.card_hash;
  r.user = decided.user;
  r.decision = std::string(access::decision_name(false));
  r.code = static_cast<int>(Code::ERR_TIMEOUT);
  r.source = decided.source;
  r.gateway_ip = decided.gateway_ip;
  r.latency_us = decided.latency_us;
  r.dir = decided.dir;
  r.extra = R"({"outcome":"timeout"})";
  journal.append(std::move(r), [trace_id = decided.trace_id](Result<journal::JournalRecord> done) {
    if (!done) {
      spdlog::error("verify {}: the 504 could not be journaled: {}", trace_id,
                    done.error().message);
    }
  });
}

}  // namespace

EngineVerify::EngineVerify(access::DecisionEngine& engine, journal::Journal& journal,
                           const Clock& clock, std::string card_secret)
    : engine_(engine), journal_(journal), clock_(clock), card_secret_(std::move(card_secret)) {}

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
  const VerifyOutcome outcome{result.granted, result.code, latency};
  // Answer only once the decision is on disk, as for MQTT decisions. When it cannot be made
  // durable, a fail-safe door grants with 50301 (contract §4) and any other door gets 503.
  // The engine, not `this`: it is made before the journal and so outlives the flush of the
  // journal's queue at shutdown.
  journal_.append(
      std::move(record),
      [&engine = engine_, &journal = journal_, outcome, fail_safe = result.fail_safe,
       site = request.site, door = request.door, claim = request.claim,
       taken = std::move(result.taken), done = std::move(done)](Result<journal::JournalRecord> r) {
        if (claim && !claim->answer()) {
          // The client was answered 504 before the decision was on disk: nobody acts on it, so a
          // grant gives back what it took, and the log says what the client got (as a door's
          // deadline does, under the same trace_id, which the anti-passback replay honours).
          if (outcome.granted) engine.give_back(taken);
          if (r) journal_timeout(journal, *r);
          return done(make_error(Code::ERR_TIMEOUT, "The decision came after the request's 504."));
        }
        if (r) return done(outcome);
        // Not while the door or its site is in lockdown: a failed disk never opens a locked-down
        // door.
        if (fail_safe && !engine.in_lockdown(site, door)) {
          return done(VerifyOutcome{true, Code::ERR_UNAVAILABLE, outcome.latency_us});
        }
        // Answered 503: a grant's pass use and anti-passback move are given back.
        if (outcome.granted) engine.give_back(taken);
        done(make_error(Code::ERR_UNAVAILABLE,
                        "The decision could not be journaled: " + r.error().message));
      });
}

}  // namespace castellan::api
