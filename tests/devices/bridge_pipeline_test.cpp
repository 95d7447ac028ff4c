// SwipePipeline with the real DecisionEngine and snapshot, and fake journal/publisher ports so
// that durability can be held back (timeouts) or fail (disk full). FakeClock throughout.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "bridge_fakes.hpp"
#include "bridge_world.hpp"
#include "devices/swipe_pipeline.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class SwipePipelineTest : public ::testing::Test {
 protected:
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  AccessWorld world_{clock_};
  RecordingJournal journal_;
  RecordingPublisher publisher_;
  DoorStateTracker door_states_{clock_, journal_};
  DeviceMetrics metrics_{world_.metrics};
  SwipePipeline pipeline_{clock_,   SwipeOptions{}, world_.doors, world_.engine, kCardSecret,
                          journal_, publisher_,     door_states_, metrics_};

  // The decision published for `req`, checked against the door's key.
  DecisionMessage decision_for(const std::string& door, const std::string& req) {
    for (const auto& m : publisher_.messages()) {
      auto d = parse_decision_message(m.payload);
      if (!d.ok() || d->req != req) continue;
      EXPECT_EQ(m.topic, decision_topic("hq", door));
      return *d;
    }
    ADD_FAILURE() << "no decision for " << req;
    return {};
  }
  void expect_signed(const std::string& door, const DecisionMessage& d) {
    auto ok =
        verify_signed_message(door_key(door), signed_fields("hq", door, d), d.sig, clock_.now());
    EXPECT_TRUE(ok.ok()) << (ok.ok() ? "" : ok.error().message);
  }
  std::vector<journal::JournalRecord> decisions() {
    std::vector<journal::JournalRecord> out;
    for (auto& r : journal_.records()) {
      if (r.kind == journal::RecordKind::decision) out.push_back(r);
    }
    return out;
  }
};

TEST_F(SwipePipelineTest, EveryDecisionCodeIsPublishedSignedAndJournaled) {
  struct Case {
    std::string door, uid;
    Code code;
  };
  const std::vector<Case> cases = {
      {"d1", kUidOk, Code::OK},
      {"d1", kUidExpired, Code::ERR_CARD_EXPIRED},
      {"d1", kUidNotYet, Code::ERR_CARD_NOT_YET_VALID},
      {"d1", kUidRevoked, Code::ERR_CARD_REVOKED},
      {"d1", kUidUnknown, Code::ERR_CARD_UNKNOWN},
      {"d1", kUidSuspended, Code::ERR_USER_SUSPENDED},
      {"d1", kUidNoAccess, Code::ERR_NO_ACCESS},
      {"d1", kUidSchedule, Code::ERR_OUTSIDE_SCHEDULE},
      {"locked-down", kUidOk, Code::ERR_DOOR_LOCKDOWN},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string req = "r-" + std::to_string(i++);
    pipeline_.handle("hq", c.door, swipe_json(req, c.uid));
    auto d = decision_for(c.door, req);
    EXPECT_EQ(d.code, static_cast<int>(c.code)) << req;
    EXPECT_EQ(d.decision, c.code == Code::OK ? "grant" : "deny");
    EXPECT_EQ(d.unlock_ms, c.code == Code::OK ? 5000 : 0);
    expect_signed(c.door, d);
  }
  auto records = decisions();
  ASSERT_EQ(records.size(), cases.size());
  EXPECT_EQ(records[0].user, "u1");
  EXPECT_EQ(records[0].source, "mqtt");
  EXPECT_EQ(records[0].req, "r-0");
  EXPECT_EQ(records[0].trace_id.size(), 32u);
  EXPECT_EQ(records[0].card_hash, to_hex(access::card_hash_of(kCardSecret, kUidOk)));
  EXPECT_TRUE(records[0].latency_us.has_value());
  for (const auto& r : journal_.records()) {
    EXPECT_EQ(journal::to_json_line(r).find(kUidOk), std::string::npos) << "raw uid stored";
  }
  EXPECT_EQ(metrics_.decision_count(Code::OK), 1.0);
  EXPECT_EQ(metrics_.decision_count(Code::ERR_CARD_REVOKED), 1.0);
}

TEST_F(SwipePipelineTest, BadFieldsWithReqGet40001UnknownDoor40401NoReqNoReply) {
  pipeline_.handle("hq", "d1", R"({"req":"bad-1","card":"zz"})");
  auto d = decision_for("d1", "bad-1");
  EXPECT_EQ(d.code, 40001);
  EXPECT_EQ(d.decision, "deny");
  expect_signed("d1", d);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kBadField), 1.0);

  pipeline_.handle("hq", "nope", swipe_json("u-1", kUidOk));
  auto u = decision_for("nope", "u-1");
  EXPECT_EQ(u.code, 40401);
  EXPECT_EQ(u.sig, "") << "no key exists for an unknown door";
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kUnknownDoor), 1.0);
  // The 40401 record names the card that was tried there.
  ASSERT_EQ(decisions().size(), 2u);
  EXPECT_FALSE(decisions()[1].card_hash.empty());
  EXPECT_EQ(decisions()[1].dir, "in");

  // A copy of each is a duplicate, not a second rejection.
  pipeline_.handle("hq", "d1", R"({"req":"bad-1","card":"zz"})");
  pipeline_.handle("hq", "nope", swipe_json("u-1", kUidOk));
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kBadField), 1.0);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kUnknownDoor), 1.0);
  EXPECT_EQ(metrics_.duplicate_count(), 2.0);

  auto before = publisher_.messages().size();
  pipeline_.handle("hq", "d1", R"({"card":"04a1b2c3"})");
  pipeline_.handle("hq", "d1", "garbage");
  pipeline_.handle("hq", "d1", std::string(10000, '{'));
  EXPECT_EQ(publisher_.messages().size(), before) << "no usable req: no reply";
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kNoReq), 1.0);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kNotJson), 1.0);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kTooLarge), 1.0);
  EXPECT_EQ(decisions().size(), 2u);
}

TEST_F(SwipePipelineTest, DuplicateGetsTheSameDecisionAndIsJournaledOnce) {
  pipeline_.handle("hq", "d1", swipe_json("dup", kUidOk));
  clock_.advance(5s);
  pipeline_.handle("hq", "d1", swipe_json("dup", kUidOk));
  auto msgs = publisher_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  auto a = *parse_decision_message(msgs[0].payload);
  auto b = *parse_decision_message(msgs[1].payload);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.decision, b.decision);
  expect_signed("d1", b);
  EXPECT_EQ(decisions().size(), 1u);
  EXPECT_EQ(metrics_.duplicate_count(), 1.0);
  // The same req at another door is another swipe.
  pipeline_.handle("hq", "fire", swipe_json("dup", kUidOk));
  EXPECT_EQ(decisions().size(), 2u);
  // After the window, the req is decided anew.
  clock_.advance(61s);
  pipeline_.expire_overdue();
  pipeline_.handle("hq", "d1", swipe_json("dup", kUidOk));
  EXPECT_EQ(decisions().size(), 3u);
}

// A copy is the same message delivered again. A controller that reuses a req (its counter
// reset by a reboot) sends another swipe: it is decided and journaled on its own, and a revoked
// card never gets the grant an earlier card got under that req.
TEST_F(SwipePipelineTest, AReusedReqWithAnotherCardOrDirectionIsAnotherSwipe) {
  pipeline_.handle("hq", "d1", swipe_json("re", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("re", kUidRevoked));
  pipeline_.handle("hq", "d1", swipe_json("re", kUidOk, "out"));
  auto msgs = publisher_.messages();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(parse_decision_message(msgs[0].payload)->decision, "grant");
  EXPECT_EQ(parse_decision_message(msgs[1].payload)->code, 40303);
  EXPECT_EQ(parse_decision_message(msgs[1].payload)->decision, "deny");
  EXPECT_EQ(parse_decision_message(msgs[2].payload)->decision, "grant");
  const auto records = decisions();
  ASSERT_EQ(records.size(), 3u) << "each swipe on record";
  EXPECT_EQ(records[1].code, 40303);
  EXPECT_EQ(records[2].dir, "out");
  EXPECT_EQ(metrics_.duplicate_count(), 0.0);

  // The same while the first is still being journaled: the second does not wait for its answer.
  journal_.set_hold(true);
  pipeline_.handle("hq", "d1", swipe_json("fly2", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("fly2", kUidRevoked));
  journal_.release();
  msgs = publisher_.messages();
  ASSERT_EQ(msgs.size(), 5u);
  std::vector<int> codes{parse_decision_message(msgs[3].payload)->code,
                         parse_decision_message(msgs[4].payload)->code};
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{0, 40303}));
  EXPECT_EQ(decisions().size(), 5u);

  // And after a restart, against an answer read back from the journal.
  journal_.set_hold(false);
  auto answered = records[0];
  answered.ts = clock_.now();  // the recording journal stamps no time
  RecordingPublisher publisher;
  SwipePipeline restarted{clock_,   SwipeOptions{}, world_.doors, world_.engine, kCardSecret,
                          journal_, publisher,      door_states_, metrics_};
  restarted.remember(answered);
  restarted.handle("hq", "d1", swipe_json("re", kUidOk));
  restarted.handle("hq", "d1", swipe_json("re", kUidRevoked));
  ASSERT_EQ(publisher.messages().size(), 2u);
  EXPECT_EQ(parse_decision_message(publisher.messages()[0].payload)->code, 0) << "a copy";
  EXPECT_EQ(parse_decision_message(publisher.messages()[1].payload)->code, 40303);
  EXPECT_EQ(metrics_.duplicate_count(), 1.0);
}

TEST_F(SwipePipelineTest, DuplicateWhileInFlightWaitsForTheFirstAnswer) {
  journal_.set_hold(true);
  pipeline_.handle("hq", "d1", swipe_json("fly", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("fly", kUidOk));
  EXPECT_TRUE(publisher_.messages().empty()) << "nothing published before durability";
  journal_.release();
  auto msgs = publisher_.messages();
  ASSERT_EQ(msgs.size(), 2u) << "both copies answered";
  EXPECT_EQ(parse_decision_message(msgs[1].payload)->code, 0);
  EXPECT_EQ(decisions().size(), 1u);
}

TEST_F(SwipePipelineTest, DeadlineAnswers50401AndFailModeSafeGrants) {
  journal_.set_hold(true);
  pipeline_.handle("hq", "d1", swipe_json("slow-1", kUidOk));
  pipeline_.handle("hq", "fire", swipe_json("slow-2", kUidOk));
  clock_.advance(299ms);
  pipeline_.expire_overdue();
  EXPECT_TRUE(publisher_.messages().empty());
  clock_.advance(2ms);
  pipeline_.expire_overdue();
  auto secure = decision_for("d1", "slow-1");
  EXPECT_EQ(secure.code, 50401);
  EXPECT_EQ(secure.decision, "deny");
  expect_signed("d1", secure);
  auto safe = decision_for("fire", "slow-2");
  EXPECT_EQ(safe.code, 50401);
  EXPECT_EQ(safe.decision, "grant");
  EXPECT_EQ(safe.unlock_ms, 5000);
  // The late durable callbacks publish nothing more.
  journal_.release();
  EXPECT_EQ(publisher_.messages().size(), 2u);
  EXPECT_EQ(pipeline_.stats().timeouts, 2u);
  EXPECT_EQ(journal_.count(journal::RecordKind::decision, "outcome", "timeout"), 2u);
  EXPECT_EQ(metrics_.decision_count(Code::ERR_TIMEOUT), 2.0);
}

TEST_F(SwipePipelineTest, ARecordDurableAfterTheDeadlineIsAnswered50401NotLate) {
  // The ticker runs every 20 ms: a record that becomes durable between the deadline and the
  // next tick must not publish the engine's grant to a controller that stopped waiting.
  journal_.set_hold(true);
  pipeline_.handle("hq", "gate", swipe_json("late-1", kUidOk));
  pipeline_.handle("hq", "fire", swipe_json("late-2", kUidOk));
  clock_.advance(305ms);
  journal_.release();
  journal_.set_hold(false);
  auto secure = decision_for("gate", "late-1");
  EXPECT_EQ(secure.code, 50401);
  EXPECT_EQ(secure.decision, "deny");
  expect_signed("gate", secure);
  EXPECT_EQ(decision_for("fire", "late-2").decision, "grant") << "fail-safe door";
  EXPECT_EQ(publisher_.messages().size(), 2u);
  EXPECT_EQ(pipeline_.stats().timeouts, 2u);
  EXPECT_EQ(journal_.count(journal::RecordKind::decision, "outcome", "timeout"), 2u);
  // The ticker finds nothing left to answer, and the gate's grant was given back.
  pipeline_.expire_overdue();
  EXPECT_EQ(publisher_.messages().size(), 2u);
  pipeline_.handle("hq", "gate", swipe_json("late-3", kUidOk));
  EXPECT_EQ(decision_for("gate", "late-3").code, 0) << "not 40307: nobody went in";
  // A duplicate of the late swipe gets the answer the door got.
  pipeline_.handle("hq", "gate", swipe_json("late-1", kUidOk));
  EXPECT_EQ(publisher_.messages().size(), 4u);
  EXPECT_EQ(parse_decision_message(publisher_.messages().back().payload)->code, 50401);
}

// A fail-safe door grants on 50401/50301, but never while it or its site is in lockdown: a slow
// or failed disk must not open a locked-down fire exit (for any card, unknown ones included).
TEST_F(SwipePipelineTest, AFailSafeDoorInLockdownIsNotOpenedByAFailure) {
  auto data = small_dataset(clock_.now());
  data.sites["hq"].lockdown = true;
  world_.holder.publish(access::build_snapshot(data, world_.ledger, 2));
  journal_.set_hold(true);
  pipeline_.handle("hq", "fire", swipe_json("ld-1", kUidOk));
  pipeline_.handle("hq", "fire", swipe_json("ld-2", kUidUnknown));
  clock_.advance(301ms);
  pipeline_.expire_overdue();
  for (const char* req : {"ld-1", "ld-2"}) {
    auto d = decision_for("fire", req);
    EXPECT_EQ(d.code, 50401) << req;
    EXPECT_EQ(d.decision, "deny") << req;
    EXPECT_EQ(d.unlock_ms, 0) << req;
  }
  journal_.release();
  journal_.set_hold(false);
  journal_.set_fail(true);
  pipeline_.handle("hq", "fire", swipe_json("ld-3", kUidOk));
  EXPECT_EQ(decision_for("fire", "ld-3").code, 50301);
  EXPECT_EQ(decision_for("fire", "ld-3").decision, "deny");
  journal_.set_fail(false);
  // The lockdown lifted, the same failure grants again at the fail-safe door.
  data.sites["hq"].lockdown = false;
  world_.holder.publish(access::build_snapshot(data, world_.ledger, 3));
  journal_.set_fail(true);
  pipeline_.handle("hq", "fire", swipe_json("ld-4", kUidOk));
  EXPECT_EQ(decision_for("fire", "ld-4").decision, "grant");
}

// A swipe answered 50401 whose record becomes durable only after its key was dropped from the
// table and begun again by a re-sent copy: the late record must not answer (or give back) the
// copy's decision.
TEST(SwipePipelineEvictionTest, ALateRecordDoesNotFinishALaterSwipeWithTheSameReq) {
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  AccessWorld world{clock};
  RecordingJournal journal;
  RecordingPublisher publisher;
  DoorStateTracker door_states{clock, journal};
  DeviceMetrics metrics{world.metrics};
  SwipeOptions options;
  options.max_dedupe_entries = 1;
  SwipePipeline pipeline{clock,   options,   world.doors, world.engine, kCardSecret,
                         journal, publisher, door_states, metrics};
  auto codes_for = [&](const std::string& req) {
    std::vector<int> codes;
    for (const auto& m : publisher.messages()) {
      auto d = parse_decision_message(m.payload);
      if (d.ok() && d->req == req) codes.push_back(d->code);
    }
    return codes;
  };
  journal.set_hold(true);
  pipeline.handle("hq", "gate", swipe_json("A", kUidOk));
  clock.advance(301ms);
  pipeline.expire_overdue();                             // A: 50401
  pipeline.handle("hq", "d1", swipe_json("B", kUidOk));  // evicts A's finished entry
  clock.advance(301ms);
  pipeline.expire_overdue();  // B: 50401, and B's entry evicts nothing in flight
  pipeline.handle("hq", "gate", swipe_json("A", kUidOk));  // decided again (granted), in flight
  ASSERT_EQ(codes_for("A"), (std::vector<int>{50401}));
  journal.set_hold(false);
  journal.release();  // the first A's record (late), B's (late), then the copy's (in time)
  EXPECT_EQ(codes_for("A"), (std::vector<int>{50401, 0})) << "the late record answered nothing";
  // The copy's grant stands: the card went in, so a second "in" is anti-passback.
  pipeline.handle("hq", "gate", swipe_json("C", kUidOk));
  EXPECT_EQ(codes_for("C"), (std::vector<int>{40307}));
}

// The ticker runs while a durable decision is being published: the swipe is still unanswered
// until that publish is done (a drain that saw 0 would stop the broker connection first).
TEST_F(SwipePipelineTest, ASwipeBeingPublishedIsStillUnansweredForTheTicker) {
  journal_.set_hold(true);
  pipeline_.handle("hq", "d1", swipe_json("p-1", kUidOk));
  std::size_t during = 0;
  publisher_.on_publish([&] {
    std::thread ticker([&] { pipeline_.expire_overdue(); });
    ticker.join();
    during = pipeline_.unanswered();
  });
  journal_.release();
  publisher_.on_publish(nullptr);
  EXPECT_EQ(during, 1u);
  EXPECT_EQ(pipeline_.unanswered(), 0u);
  EXPECT_EQ(decision_for("d1", "p-1").code, 0);
}

TEST_F(SwipePipelineTest, AGrantTheDoorNeverGotLeavesTheCardOutside) {
  // The engine grants "in" at the anti-passback gate, but the record is not durable in time:
  // the fail-secure gate is told 50401 deny, so the card must not count as inside.
  journal_.set_hold(true);
  pipeline_.handle("hq", "gate", swipe_json("g-1", kUidOk));
  clock_.advance(301ms);
  pipeline_.expire_overdue();
  EXPECT_EQ(decision_for("gate", "g-1").code, 50401);
  journal_.release();
  journal_.set_hold(false);
  pipeline_.handle("hq", "gate", swipe_json("g-2", kUidOk));
  EXPECT_EQ(decision_for("gate", "g-2").code, 0) << "not 40307: nobody went in";
  // Likewise when the journal refuses the record (50301).
  journal_.set_fail(true);
  pipeline_.handle("hq", "gate", swipe_json("g-3", kUidOk, "out"));
  EXPECT_EQ(decision_for("gate", "g-3").code, 50301);
  journal_.set_fail(false);
  pipeline_.handle("hq", "gate", swipe_json("g-4", kUidOk));
  EXPECT_EQ(decision_for("gate", "g-4").code, 40307) << "still inside: the exit never happened";
}

// A swipe the broker kept while the service was away arrives long after its `ts`: 50401 with the
// door's fail mode, journaled as such, and the engine is not asked — the anti-passback gate
// still lets the card in afterwards, which it would not if the late swipe had been granted.
TEST_F(SwipePipelineTest, ASwipeOlderThanMaxSwipeAgeGets50401AndTakesNothing) {
  pipeline_.handle("hq", "gate", swipe_json("old-1", kUidOk, "in", clock_.now() - 10001ms));
  const auto old = decision_for("gate", "old-1");
  EXPECT_EQ(old.code, 50401);
  EXPECT_EQ(old.decision, "deny");
  expect_signed("gate", old);
  pipeline_.handle("hq", "fire", swipe_json("old-2", kUidOk, "in", clock_.now() - 1h));
  EXPECT_EQ(decision_for("fire", "old-2").decision, "grant") << "a fail-safe door's 50401";
  auto records = decisions();
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    EXPECT_EQ(r.code, 50401);
    EXPECT_NE(r.extra.find("\"outcome\":\"swipe_too_old\""), std::string::npos) << r.extra;
    EXPECT_EQ(r.card_hash.size(), 64u) << "which card it was stays in the audit trail";
    EXPECT_EQ(r.dir, "in");
  }
  EXPECT_TRUE(records[0].user.empty()) << "the engine was not asked";
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kTooOld), 2.0);

  pipeline_.handle("hq", "gate", swipe_json("new-1", kUidOk, "in", clock_.now() - 9s));
  EXPECT_EQ(decision_for("gate", "new-1").code, 0) << "within max_swipe_age: decided";
  pipeline_.handle("hq", "gate", swipe_json("new-2", kUidOk, "in", clock_.now()));
  EXPECT_EQ(decision_for("gate", "new-2").code, 40307) << "the decided one did count";
}

TEST_F(SwipePipelineTest, MaxSwipeAgeZeroDecidesEverySwipe) {
  SwipeOptions options;
  options.max_swipe_age = 0ms;
  SwipePipeline pipeline{clock_,   options,    world_.doors, world_.engine, kCardSecret,
                         journal_, publisher_, door_states_, metrics_};
  pipeline.handle("hq", "d1", swipe_json("old", kUidOk, "in", clock_.now() - 24h));
  EXPECT_EQ(decision_for("d1", "old").code, 0);
}

// The broker connection is down when the grant is published: the gate never opened, so the card
// stays outside, the log says so, and a re-sent copy of the swipe gets the same 50301.
TEST_F(SwipePipelineTest, AGrantWhosePublishFailedLeavesTheCardOutside) {
  publisher_.set_down(true);
  pipeline_.handle("hq", "gate", swipe_json("p-1", kUidOk));
  publisher_.set_down(false);
  EXPECT_TRUE(publisher_.messages().empty());
  auto records = decisions();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].code, 0) << "what the engine decided";
  EXPECT_EQ(records[1].code, 50301);
  EXPECT_EQ(records[1].trace_id, records[0].trace_id);
  EXPECT_NE(records[1].extra.find("\"outcome\":\"publish_failed\""), std::string::npos);

  pipeline_.handle("hq", "gate", swipe_json("p-1", kUidOk));  // QoS 1 re-send after reconnect
  EXPECT_EQ(decision_for("gate", "p-1").code, 50301);
  pipeline_.handle("hq", "gate", swipe_json("p-2", kUidOk));
  EXPECT_EQ(decision_for("gate", "p-2").code, 0) << "not 40307: nobody went in";
}

// The connection comes back while the grant's publish is failing, and the broker re-sends the
// swipe at once: the copy must get what the door is left with (50301), never the grant that
// did not go out — the journal says 50301 and the card stays outside.
TEST_F(SwipePipelineTest, ACopyArrivingWhileTheGrantFailsToPublishGetsTheRefusalNotTheGrant) {
  publisher_.set_down(true);
  bool copied = false;
  publisher_.on_refused([&] {
    if (std::exchange(copied, true)) return;
    publisher_.set_down(false);  // reconnected; the broker delivers the copy on its own thread
    std::thread copy([&] { pipeline_.handle("hq", "gate", swipe_json("p-1", kUidOk)); });
    copy.join();
  });
  pipeline_.handle("hq", "gate", swipe_json("p-1", kUidOk));
  ASSERT_TRUE(copied);
  auto messages = publisher_.messages();
  ASSERT_EQ(messages.size(), 1u) << "the copy is answered once, after the first answer";
  auto d = parse_decision_message(messages[0].payload);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->code, 50301);
  EXPECT_EQ(d->decision, "deny");
  auto records = decisions();
  ASSERT_EQ(records.size(), 2u) << "the copy is not decided again";
  EXPECT_EQ(records[1].code, 50301);
  EXPECT_EQ(pipeline_.stats().duplicates, 1u);
  EXPECT_EQ(pipeline_.unanswered(), 0u);
}

TEST_F(SwipePipelineTest, JournalUnavailableAnswers50301) {
  journal_.set_fail(true);
  pipeline_.handle("hq", "d1", swipe_json("j-1", kUidOk));
  pipeline_.handle("hq", "fire", swipe_json("j-2", kUidOk));
  auto secure = decision_for("d1", "j-1");
  EXPECT_EQ(secure.code, 50301);
  EXPECT_EQ(secure.decision, "deny");
  auto safe = decision_for("fire", "j-2");
  EXPECT_EQ(safe.code, 50301);
  EXPECT_EQ(safe.decision, "grant");
  EXPECT_EQ(pipeline_.stats().journal_failures, 2u);
  // The journal is back: the next swipe is decided normally.
  journal_.set_fail(false);
  pipeline_.handle("hq", "d1", swipe_json("j-3", kUidOk));
  EXPECT_EQ(decision_for("d1", "j-3").code, 0);
}

TEST_F(SwipePipelineTest, GrantsFeedTheDoorsPassagesAndFailureRate) {
  pipeline_.handle("hq", "d1", swipe_json("p-1", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("p-2", kUidUnknown));
  auto v = door_states_.assist("d1");
  ASSERT_EQ(v.recent.size(), 1u);
  EXPECT_EQ(v.recent[0].user, "u1");
  EXPECT_DOUBLE_EQ(v.failure_rate_24h, 0.5);
}

TEST_F(SwipePipelineTest, GrantIsAuthorisedBeforeTheDoorCanReact) {
  DoorInfo d1 = *world_.doors.find("hq", "d1");
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  // The controller opens at once on the grant and reports it before publish() has returned.
  publisher_.on_publish([&] {
    door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  });
  pipeline_.handle("hq", "d1", swipe_json("a-1", kUidOk));
  ASSERT_EQ(decision_for("d1", "a-1").code, 0);
  EXPECT_EQ(journal_.count(journal::RecordKind::door_alarm), 0u) << "not a forced opening";
}

// A re-sent swipe answered from the table gets a grant with a fresh `exp`: the door may open on
// it after the first grant's window has passed, and that opening is not forced.
TEST_F(SwipePipelineTest, AGrantSentAgainToADuplicateAuthorisesTheOpeningAgain) {
  DoorInfo d1 = *world_.doors.find("hq", "d1");
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  clock_.advance(6s);  // past d1's unlock_ms of 5000: the first grant never reached the door
  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  ASSERT_EQ(publisher_.messages().size(), 2u);
  clock_.advance(300ms);
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(journal::RecordKind::door_alarm), 0u) << "opened on the second grant";
  EXPECT_EQ(door_states_.assist("d1").recent.size(), 1u) << "still one passage";
}

// Lockdown wins over "a duplicate gets the same decision": a grant re-sent after the door went
// into lockdown would open it. The copy gets 40309, on record, and so does every later copy.
TEST_F(SwipePipelineTest, ADuplicateOfAGrantAfterALockdownIsDenied) {
  DoorInfo d1 = *world_.doors.find("hq", "d1");
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  ASSERT_EQ(decision_for("d1", "r-1").decision, "grant");
  auto data = small_dataset(clock_.now());
  data.sites["hq"].lockdown = true;
  world_.holder.publish(access::build_snapshot(data, world_.ledger, 2));
  clock_.advance(6s);  // past the first grant's unlock_ms

  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  const auto& messages = publisher_.messages();
  ASSERT_EQ(messages.size(), 3u);
  for (std::size_t i = 1; i < messages.size(); ++i) {
    auto d = parse_decision_message(messages[i].payload);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->req, "r-1");
    EXPECT_EQ(d->decision, "deny") << i;
    EXPECT_EQ(d->code, 40309) << i;
    EXPECT_EQ(d->unlock_ms, 0) << i;
    expect_signed("d1", *d);
  }
  auto records = decisions();
  ASSERT_EQ(records.size(), 2u) << "the grant, and the lockdown's deny once";
  EXPECT_EQ(records[1].req, "r-1");
  EXPECT_EQ(records[1].code, 40309);
  EXPECT_NE(records[1].extra.find("duplicate_after_lockdown"), std::string::npos);
  EXPECT_FALSE(records[1].card_hash.empty());
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(journal::RecordKind::door_alarm), 1u) << "no opening was authorised";
}

// The lockdown's 40309 is a decision like any other: on record before the door hears it, and
// copies arriving meanwhile wait for it.
TEST_F(SwipePipelineTest, TheLockdownAnswerToADuplicateIsPublishedOnceItsRecordIsDurable) {
  pipeline_.handle("hq", "d1", swipe_json("r-2", kUidOk));
  ASSERT_EQ(decision_for("d1", "r-2").decision, "grant");
  auto data = small_dataset(clock_.now());
  data.sites["hq"].lockdown = true;
  world_.holder.publish(access::build_snapshot(data, world_.ledger, 2));
  journal_.set_hold(true);
  pipeline_.handle("hq", "d1", swipe_json("r-2", kUidOk));
  pipeline_.handle("hq", "d1", swipe_json("r-2", kUidOk));
  EXPECT_EQ(publisher_.messages().size(), 1u) << "nothing before the record is durable";
  journal_.release();
  const auto& messages = publisher_.messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(parse_decision_message(messages[1].payload)->code, 40309);
  EXPECT_EQ(parse_decision_message(messages[2].payload)->code, 40309);
  ASSERT_EQ(decisions().size(), 2u);
  // Later copies are answered from the table, as before.
  pipeline_.handle("hq", "d1", swipe_json("r-2", kUidOk));
  ASSERT_EQ(publisher_.messages().size(), 4u);
  EXPECT_EQ(parse_decision_message(publisher_.messages()[3].payload)->code, 40309);
  EXPECT_EQ(decisions().size(), 2u);
}

// The site goes into lockdown while the grant is being published, and a copy of the swipe
// arrives meanwhile (it waits for that answer): the copy gets 40309, on record first, not the
// grant, as a copy that comes after the answer does.
TEST_F(SwipePipelineTest, ACopyThatWaitedForAGrantGets40309IfTheDoorWentIntoLockdownMeanwhile) {
  bool copied = false;
  publisher_.on_publish([&] {
    if (std::exchange(copied, true)) return;
    auto data = small_dataset(clock_.now());
    data.sites["hq"].lockdown = true;
    world_.holder.publish(access::build_snapshot(data, world_.ledger, 2));
    std::thread copy([&] { pipeline_.handle("hq", "d1", swipe_json("r-3", kUidOk)); });
    copy.join();
  });
  pipeline_.handle("hq", "d1", swipe_json("r-3", kUidOk));
  ASSERT_TRUE(copied);
  const auto messages = publisher_.messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(parse_decision_message(messages[0].payload)->code, 0) << "the first, published";
  EXPECT_EQ(parse_decision_message(messages[1].payload)->code, 40309);
  const auto records = decisions();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].code, 40309);
  EXPECT_EQ(pipeline_.unanswered(), 0u);
}

TEST_F(SwipePipelineTest, AGrantWhosePublishFailedAuthorisesNoOpening) {
  DoorInfo d1 = *world_.doors.find("hq", "d1");
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  publisher_.set_down(true);
  pipeline_.handle("hq", "d1", swipe_json("r-1", kUidOk));
  publisher_.set_down(false);
  clock_.advance(1s);  // within the grant's unlock_ms, but the door never got the grant
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(journal::RecordKind::door_alarm), 1u) << "forced";
  // Nor is it a passage in the assist view: it counts as the failure the journal records.
  const auto assist = door_states_.assist("d1");
  EXPECT_TRUE(assist.recent.empty());
  EXPECT_EQ(assist.failure_rate_24h, 1.0);
}

// One controller flooding its door cannot take the table, the journal or the decision path
// from the others: new swipes over the door's limit get 42901, unjournaled, and are reported
// in one `resilience` record per minute.
TEST_F(SwipePipelineTest, NewSwipesOverTheDoorsLimitGet42901AndAreReportedOnce) {
  pipeline_.handle("hq", "d1", swipe_json("f-0", kUidOk));
  for (int i = 1; i < 100; ++i) {
    pipeline_.handle("hq", "d1", swipe_json("f-" + std::to_string(i), kUidUnknown));
  }
  EXPECT_EQ(decisions().size(), 40u) << "a burst of 2 s at the default 20 per second";
  auto limited = decision_for("d1", "f-99");
  EXPECT_EQ(limited.code, 42901);
  EXPECT_EQ(limited.decision, "deny");
  expect_signed("d1", limited);
  EXPECT_EQ(pipeline_.stats().rate_limited, 60u);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kRateLimited), 60.0);
  EXPECT_EQ(pipeline_.stats().dedupe_entries, 40u) << "refused swipes take no table entry";

  pipeline_.handle("hq", "d1", swipe_json("f-0", kUidOk));  // a re-send of a taken swipe
  EXPECT_EQ(pipeline_.stats().duplicates, 1u) << "answered from the table, not refused";
  pipeline_.handle("hq", "gate", swipe_json("g-1", kUidOk));
  EXPECT_EQ(decision_for("gate", "g-1").code, 0) << "another door is not affected";

  clock_.advance(60s);
  pipeline_.expire_overdue();
  std::size_t reports = 0;
  for (const auto& r : journal_.records()) {
    if (r.kind != journal::RecordKind::resilience) continue;
    ++reports;
    EXPECT_EQ(r.door, "d1");
    EXPECT_NE(r.extra.find(R"("event":"swipes_rate_limited","refused":60)"), std::string::npos)
        << r.extra;
  }
  EXPECT_EQ(reports, 1u);
  pipeline_.handle("hq", "d1", swipe_json("f-100", kUidOk));
  EXPECT_EQ(decision_for("d1", "f-100").code, 0) << "the bucket refilled";
}

// Over the limit, a swipe that would never have been decided keeps its own code and is
// counted under one reason only: 40401 at an unknown door (contract §4: it comes first), 40001
// for bad fields (counted bad_field, not also rate_limited).
TEST_F(SwipePipelineTest, OverTheLimitAnUnknownDoorIs40401AndABadFieldIs40001CountedOnce) {
  for (int i = 0; i < 41; ++i) {
    pipeline_.handle("hq", "nope", swipe_json("n-" + std::to_string(i), kUidOk));
  }
  EXPECT_EQ(pipeline_.stats().rate_limited, 1u) << "the 41st is over the 2-s burst";
  EXPECT_EQ(decision_for("nope", "n-40").code, 40401);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kUnknownDoor), 41.0);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kRateLimited), 0.0);

  for (int i = 0; i < 40; ++i) {
    pipeline_.handle("hq", "d1", swipe_json("f-" + std::to_string(i), kUidOk));
  }
  pipeline_.handle("hq", "d1", R"({"req":"bad-1","card":"zz"})");
  EXPECT_EQ(pipeline_.stats().rate_limited, 2u);
  auto bad = decision_for("d1", "bad-1");
  EXPECT_EQ(bad.code, 40001);
  expect_signed("d1", bad);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kBadField), 1.0);
  EXPECT_EQ(metrics_.rejected_count(RejectReason::kRateLimited), 0.0);
}

}  // namespace
}  // namespace castellan::devices
