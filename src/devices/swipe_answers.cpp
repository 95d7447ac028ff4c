#include <spdlog/spdlog.h>

#include "access/codec.hpp"
#include "devices/outgoing.hpp"
#include "devices/swipe_pipeline_core.hpp"
#include "devices/topics.hpp"

namespace castellan::devices {

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

SwipePipeline::Outcome SwipePipeline::Core::answer(const Pending& p, const Outcome& outcome,
                                                   std::uint32_t copies, bool first) {
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
  {
    std::lock_guard lock(mu);
    stats.published += sent;
    stats.publish_failures += failed;
  }
  if (first && sent == 0 && failed > 0 && outcome.grant && outcome.code == Code::OK) {
    // The door never got its grant (no broker connection at that moment) and denies on its
    // own timeout: as for a deadline, what the grant took is given back, the log says what
    // happened, and a copy of the swipe re-sent after the reconnect gets that same answer.
    const Outcome refused = failure_outcome(p, Code::ERR_UNAVAILABLE);
    give_back_if_denied(p, refused);
    if (p.door_known) door_states.grant_not_received(p.door, p.trace_id);
    journal_outcome(p, refused, "publish_failed");
    return refused;
  }
  return outcome;
}

std::shared_ptr<SwipePipeline::Pending> SwipePipeline::Core::pending_for(
    std::string_view site, std::string_view door_id, const std::string& req,
    std::string card_hash_hex, std::string_view dir) const {
  auto p = std::make_shared<Pending>();
  p->req = req;
  p->key = swipe_key(site, door_id, req, card_hash_hex, dir);
  p->card_hash_hex = std::move(card_hash_hex);
  p->dir = dir == "out" ? Direction::kOut : Direction::kIn;
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
  auto p = pending_for(r.site, r.door, r.req, r.card_hash, r.dir);
  p->trace_id = r.trace_id;
  p->user = r.user;
  p->gateway_ip = r.gateway_ip;
  const bool grant = r.decision == "grant";
  p->decided =
      Outcome{grant, static_cast<Code>(r.code.value_or(static_cast<int>(Code::ERR_INTERNAL))),
              grant ? p->door.unlock_ms : 0};
  p->received = clock.monotonic() - std::chrono::duration_cast<Clock::Monotonic::duration>(age);
  std::lock_guard lock(mu);
  table.seed(p->key, p->received, p->decided, p);
}

}  // namespace castellan::devices
