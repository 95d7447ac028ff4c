// The simulator against a real broker and an EchoDecider that signs correctly, with the wrong
// key, or with a stale exp; no responder at all; and per-device credentials under the ACL.
#include "devices/sim/simulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "broker_fixture.hpp"
#include "core/crypto.hpp"
#include "devices/payloads.hpp"
#include "devices/sim/echo_decider.hpp"
#include "devices/topics.hpp"

namespace castellan::devices::sim {
namespace {

using namespace std::chrono_literals;
using devices::testing::BrokerFixture;
using devices::testing::MessageInbox;

class SimulatorTest : public BrokerFixture {
 protected:
  SimOptions sim_options(int doors = 3, int sensors = 2) {
    SimOptions o;
    o.port = broker_->port();
    o.username = admin_.username;
    o.password = admin_.password;
    o.doors = doors;
    o.sensors = sensors;
    o.rate = 150;
    o.duration = 1s;
    o.valid_cards = {"04a1b2c3", "04a1b2c4"};
    o.expired_cards = {"0badc0de"};
    o.mix = SwipeMix{1, 1, 1, 1};
    o.heartbeat_interval = 200ms;
    o.telemetry_interval = 200ms;
    o.answer_timeout = 2s;
    o.forced_open_per_door_per_min = 0;  // tests that want door alarms turn them on
    o.held_open_ratio = 0;
    for (int i = 1; i <= doors; ++i) o.door_keys["d" + std::to_string(i)] = random_bytes(32);
    return o;
  }
  std::unique_ptr<EchoDecider> echo(const SimOptions& sim, EchoSigning signing,
                                    std::chrono::milliseconds delay = 0ms) {
    EchoOptions e;
    e.delay = delay;
    e.mqtt = options_for(admin_);
    e.door_keys = sim.door_keys;
    e.signing = signing;
    auto d = std::make_unique<EchoDecider>(e);
    auto r = d->start();
    EXPECT_TRUE(r.ok()) << r.error().message;
    return d;
  }
  // Everything published on `filters` from now on, collected by an admin client.
  MessageInbox& watch(std::initializer_list<const char*> filters) {
    MessageInbox& spy = new_inbox();
    MqttClient& watcher = admin_client(&spy);
    for (const char* filter : filters) EXPECT_TRUE(watcher.subscribe(filter).ok()) << filter;
    EXPECT_TRUE(watcher.wait_subacks(filters.size(), 10s));
    return spy;
  }
  // A whole run of `o` against an echo that answers with `signing`.
  SimReport run_answered(const SimOptions& o, EchoSigning signing) {
    auto responder = echo(o, signing);
    Simulator sim(o);
    return run(sim);
  }
  SimReport run(Simulator& sim) {
    auto r = sim.start();
    EXPECT_TRUE(r.ok()) << r.error().message;
    while (sim.swiping()) std::this_thread::sleep_for(20ms);
    sim.stop();
    return sim.report();
  }
};

TEST_F(SimulatorTest, EverySwipeWithAReqIsAnsweredAndVerified) {
  SimOptions o = sim_options();
  o.answer_timeout = 10s;  // every swipe is expected answered: no slow moment may count
  auto responder = echo(o, EchoSigning::kCorrect);
  MessageInbox& spy = watch({"castellan/v1/hq/devices/#", "castellan/v1/hq/doors/+/state"});

  Simulator sim(o);
  SimReport r = run(sim);
  EXPECT_GT(r.sent, 50u);
  EXPECT_LT(r.expecting_reply, r.sent) << "the mix includes payloads without a usable req";
  EXPECT_EQ(r.answered, r.expecting_reply);
  EXPECT_EQ(r.unanswered, 0u);
  EXPECT_EQ(r.rejected_signature + r.rejected_stale, 0u);
  EXPECT_EQ(r.unverified, 0u);
  EXPECT_EQ(r.duplicate_answers + r.stray_answers + r.replies_to_no_req, 0u);
  EXPECT_EQ(r.rtt.count, r.answered);
  EXPECT_GT(r.rtt.p50_us, 0);
  EXPECT_LE(r.rtt.p50_us, r.rtt.p99_us);
  EXPECT_LE(r.rtt.p99_us, r.rtt.max_us);
  for (std::size_t k = 0; k < r.sent_by_kind.size(); ++k) EXPECT_GT(r.sent_by_kind[k], 0u) << k;
  // The echo grants every well-formed swipe, which no correct server does for an unknown or
  // an expired card: exactly those answers count as unexpected.
  EXPECT_GT(r.codes[0], 0u);
  EXPECT_GT(r.codes[40001], 0u);
  EXPECT_EQ(r.unexpected_code, r.sent_by_kind[1] + r.sent_by_kind[2]);
  EXPECT_GT(r.state_changes, 0u);

  // What the devices sent parses with castellan's own device-payload parsers.
  ASSERT_TRUE(spy.wait_for_payload("offline"));
  std::size_t heartbeats = 0, telemetry = 0, states = 0, offline = 0;
  for (const auto& m : spy.messages()) {
    auto t = parse_topic(m.topic);
    ASSERT_TRUE(t.ok()) << m.topic;
    switch (t->kind) {
      case TopicKind::kHeartbeat:
        EXPECT_TRUE(parse_heartbeat(m.payload).ok()) << m.payload;
        ++heartbeats;
        break;
      case TopicKind::kTelemetry:
        EXPECT_TRUE(parse_telemetry(m.payload).ok()) << m.payload;
        ++telemetry;
        break;
      case TopicKind::kState:
        EXPECT_TRUE(parse_door_state(m.payload).ok()) << m.payload;
        ++states;
        break;
      case TopicKind::kStatus:
        EXPECT_TRUE(parse_status(m.payload).ok()) << m.payload;
        ++offline;
        break;
      default:
        break;
    }
  }
  EXPECT_GE(heartbeats, 5u);
  EXPECT_GE(telemetry, 2u);
  EXPECT_GE(states, 3u);
}

TEST_F(SimulatorTest, DecisionsWithTheWrongKeyAreRejectedAndCounted) {
  SimOptions o = sim_options();
  o.answer_timeout = 10s;  // every swipe is expected answered: no slow moment may count
  SimReport r = run_answered(o, EchoSigning::kWrongKey);
  EXPECT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.rejected_signature, r.expecting_reply);
  EXPECT_EQ(r.answered, 0u);
  EXPECT_EQ(r.unanswered, 0u);
  EXPECT_EQ(r.state_changes, o.door_keys.size()) << "a rejected grant must not open the door";
}

TEST_F(SimulatorTest, AGrantWhoseCodeSaysDenyIsUnexpectedAndOpensNoDoor) {
  SimOptions o = sim_options();
  SimReport r = run_answered(o, EchoSigning::kGrantWithDenyCode);
  EXPECT_GT(r.answered, 0u);
  EXPECT_EQ(r.unexpected_code, r.answered);
  EXPECT_EQ(r.state_changes, o.door_keys.size()) << "an inconsistent grant must not open the door";
}

TEST_F(SimulatorTest, AnAnswerOnAnotherDoorsTopicIsStrayAndLeavesTheSwipeUnanswered) {
  SimOptions o = sim_options();
  SimReport r = run_answered(o, EchoSigning::kOtherDoor);
  EXPECT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.answered, 0u);
  EXPECT_EQ(r.stray_answers, r.expecting_reply);
  EXPECT_EQ(r.unanswered, r.expecting_reply);
}

// Stopping the simulator in the middle of grants must not leave a door open or unlocked for
// the server to raise held_open alarms about.
TEST_F(SimulatorTest, AStoppedSimulatorLeavesEveryDoorClosedAndLocked) {
  SimOptions o = sim_options();
  auto responder = echo(o, EchoSigning::kCorrect);
  MessageInbox& spy = watch({"castellan/v1/hq/doors/+/state", "castellan/v1/hq/devices/+/status"});
  Simulator sim(o);
  SimReport r = run(sim);  // 1 s of swipes: every door is in the middle of a 5 s grant
  ASSERT_GT(r.codes[0], 0u);
  ASSERT_TRUE(spy.wait_for_count(1));
  // Each controller says "offline" after its last state, on its own connection: wait for every
  // one of them (a sensor's "offline" says nothing about a door's connection).
  const auto every_controller_offline = [&] {
    std::set<std::string> offline;
    for (const auto& m : spy.messages()) {
      auto t = parse_topic(m.topic);
      if (t.ok() && t->kind == TopicKind::kStatus && m.payload == "offline") {
        offline.insert(t->entity);
      }
    }
    const auto& controllers = sim.controllers();
    return std::all_of(controllers.begin(), controllers.end(),
                       [&](const std::string& c) { return offline.contains(c); });
  };
  for (int i = 0; i < 3000 && !every_controller_offline(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(every_controller_offline());
  std::map<std::string, std::string> last_state;
  for (const auto& m : spy.messages()) {
    auto t = parse_topic(m.topic);
    if (t.ok() && t->kind == TopicKind::kState) last_state[t->entity] = m.payload;
  }
  ASSERT_EQ(last_state.size(), o.door_keys.size());
  for (const auto& [door, payload] : last_state) {
    auto state = parse_door_state(payload);
    ASSERT_TRUE(state.ok()) << payload;
    EXPECT_NE(payload.find(R"("lock":"locked","contact":"closed","beam":"clear")"),
              std::string::npos)
        << door << ": " << payload;
  }
}

TEST_F(SimulatorTest, StaleDecisionsAreRejectedAndCounted) {
  SimOptions o = sim_options();
  SimReport r = run_answered(o, EchoSigning::kExpired);
  EXPECT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.rejected_stale, r.expecting_reply);
  EXPECT_EQ(r.rejected_signature, 0u);
  EXPECT_EQ(r.answered, 0u);
}

TEST_F(SimulatorTest, WithoutAResponderEverySwipeIsUnanswered) {
  SimOptions o = sim_options(2, 0);
  o.answer_timeout = 300ms;
  Simulator sim(o);
  SimReport r = run(sim);
  EXPECT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.unanswered, r.expecting_reply);
  EXPECT_EQ(r.answered, 0u);
  EXPECT_EQ(r.pending, 0u);
  EXPECT_NE(format_summary(r).find("unanswered         " + std::to_string(r.unanswered)),
            std::string::npos);
}

// A server that cannot keep up answers 50401 (its decision deadline) or 50301: answered, but
// not a decision; the load benchmark counts these as lost (--fail-on-loss).
TEST(SimReport, RefusedCountsTheServersFailureAnswersOnly) {
  SimReport r;
  r.codes = {{0, 10}, {40301, 4}, {40307, 2}, {42901, 3}, {50301, 1}, {50401, 5}};
  EXPECT_EQ(r.refused(), 9u);
  EXPECT_NE(format_summary(r).find("refused by server  9"), std::string::npos);
  r.codes = {{0, 10}, {40301, 4}};
  EXPECT_EQ(r.refused(), 0u);
}

// An answer after answer_timeout is unanswered (and late), even when it arrives before the
// once-a-second sweep has marked its swipe: it is no round-trip sample either.
TEST_F(SimulatorTest, AnswersAfterTheTimeoutAreUnansweredEvenBeforeTheSweep) {
  SimOptions o = sim_options(1, 0);
  o.mix = SwipeMix{1, 0, 0, 0};
  o.rate = 4;
  o.duration = 600ms;
  o.answer_timeout = 150ms;
  auto responder = echo(o, EchoSigning::kCorrect, 300ms);
  Simulator sim(o);
  SimReport r = run(sim);
  ASSERT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.answered, 0u);
  EXPECT_EQ(r.unanswered, r.expecting_reply);
  EXPECT_EQ(r.rtt.count, 0u);
}

// An answer so late that the swipe was already forgotten (after 3 x answer_timeout) is still
// late, not an answer to a swipe the simulator never sent.
TEST_F(SimulatorTest, AnAnswerAfterTheSwipeWasForgottenIsLateNotAReplyToNoReq) {
  SimOptions o = sim_options(1, 0);
  o.mix = SwipeMix{1, 0, 0, 0};
  o.rate = 4;
  o.duration = 600ms;
  o.answer_timeout = 100ms;
  // Past 3 x 100 ms and the once-a-second sweep that forgets the swipe. The echo answers one
  // swipe after another, each after this delay.
  auto responder = echo(o, EchoSigning::kCorrect, 1200ms);
  Simulator sim(o);
  ASSERT_TRUE(sim.start().ok());
  while (sim.swiping()) std::this_thread::sleep_for(20ms);
  const auto answers = [&] {
    const SimReport r = sim.report();
    return r.late + r.replies_to_no_req + r.stray_answers;
  };
  for (int i = 0; i < 1000 && answers() < sim.report().expecting_reply; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  sim.stop();
  SimReport r = sim.report();
  ASSERT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.unanswered, r.expecting_reply);
  EXPECT_EQ(r.late, r.expecting_reply);
  EXPECT_EQ(r.replies_to_no_req, 0u);
  EXPECT_EQ(r.stray_answers, 0u);
}

TEST(LatencyRecorder, PercentilesAreNearestRank) {
  LatencyRecorder hundred;
  for (std::uint32_t us = 100; us >= 1; --us) hundred.add(us);
  EXPECT_EQ(hundred.summary().p50_us, 50);
  EXPECT_EQ(hundred.summary().p99_us, 99);
  LatencyRecorder few;
  for (std::uint32_t us = 1; us <= 97; ++us) few.add(us);
  EXPECT_EQ(few.summary().p99_us, 97) << "the 97th of 97 samples, not the 96th";
}

TEST_F(SimulatorTest, DevicesWithTheirOwnCredentialsStayWithinTheirAcl) {
  SimOptions o = sim_options(2, 1);
  o.answer_timeout = 10s;  // every swipe is expected answered: no slow moment may count
  o.username.clear();
  o.password.clear();
  Simulator probe(o);  // only to learn the device ids it will use
  for (std::size_t i = 0; i < probe.doors().size(); ++i) {
    auto c = accounts_->set_device_credentials(probe.controllers()[i], "hq", {probe.doors()[i]});
    ASSERT_TRUE(c.ok());
    o.device_credentials[probe.controllers()[i]] = *c;
  }
  for (const auto& s : probe.sensors()) {
    auto c = accounts_->set_device_credentials(s, "hq", {});
    ASSERT_TRUE(c.ok());
    o.device_credentials[s] = *c;
  }
  ASSERT_TRUE(broker_->reload().ok());
  auto responder = echo(o, EchoSigning::kCorrect);
  MessageInbox& spy = watch({"castellan/v1/hq/devices/+/heartbeat"});
  // SIGHUP is asynchronous: the first connection attempts may still meet the old password file.
  Simulator sim(o);
  auto started = sim.start(15s);
  ASSERT_TRUE(started.ok()) << started.error().message;
  while (sim.swiping()) std::this_thread::sleep_for(20ms);
  sim.stop();
  SimReport r = sim.report();
  EXPECT_GT(r.expecting_reply, 0u);
  EXPECT_EQ(r.answered, r.expecting_reply) << "swipes and decisions pass the per-door ACL";
  EXPECT_EQ(r.unanswered, 0u);
  EXPECT_TRUE(spy.wait_for_count(3)) << "heartbeats pass the per-device ACL";
}

TEST_F(SimulatorTest, DoorsAreForcedOpenAndHeldOpen) {
  // One swipe per second round-robin over 3 doors: d3 stays idle (locked, closed) until the
  // forced-open tick at 1 s finds it; d1's grant at 0 s is held open.
  SimOptions o = sim_options(3, 0);
  o.mix = SwipeMix{1, 0, 0, 0};  // valid cards only: the echo grants them all
  o.rate = 1;
  o.duration = 2500ms;
  o.forced_open_per_door_per_min = 60 * 1000;  // every idle locked door, every second
  o.held_open_ratio = 1;
  o.held_open_for = 600ms;
  auto responder = echo(o, EchoSigning::kCorrect);
  MessageInbox& spy = watch({"castellan/v1/hq/doors/+/state"});
  Simulator sim(o);
  SimReport r = run(sim);
  EXPECT_GT(r.forced_open, 0u);
  EXPECT_GT(r.held_open, 0u);
  bool saw_forced = false, saw_grant_open = false;
  for (const auto& m : spy.messages()) {
    auto s = parse_door_state(m.payload);
    ASSERT_TRUE(s.ok()) << m.payload;
    const auto& v = *s.value;
    if (v.lock == LockState::kLocked && v.contact == ContactState::kOpen) saw_forced = true;
    if (v.lock == LockState::kUnlocked && v.contact == ContactState::kOpen) saw_grant_open = true;
  }
  EXPECT_TRUE(saw_forced) << "a forced open is contact=open while lock=locked";
  EXPECT_TRUE(saw_grant_open);
}

TEST(SimulatorOptions, ConnectFailureIsAClearError) {
  auto port = pick_free_loopback_port();
  ASSERT_TRUE(port.ok());
  SimOptions o;
  o.port = *port;
  o.doors = 1;
  o.sensors = 0;
  Simulator sim(o);
  auto r = sim.start(300ms);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("could not connect"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace castellan::devices::sim
