// The device side end to end: a real mosquitto (BrokerFixture), the real MqttClient, a real
// journal in a temp dir, the real DecisionEngine over a small snapshot, DeviceService with its
// ticker task. Controllers are played by plain MQTT clients.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "bridge_world.hpp"
#include "devices/device_view.hpp"
#include "runtime/io_pool.hpp"
#include "runtime/task_group.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class BridgeMqttTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    if (HasFatalFailure()) return;
    journal_dir_ = unique_temp_dir("bridge-journal");
    journal_ = open_journal(journal_dir_, clock_);
    ASSERT_TRUE(journal_);
    appender_ = std::make_unique<JournalAppender>(*journal_);
    config_.devices.offline_after_ms = 1000;  // real time; 8 s exactly is the FakeClock test's
    // The real clock runs on: a loaded CI machine (sanitizers, -j2) can hold a journal write
    // past the 300 ms default and turn an expected code into 50401. The deadline itself is
    // tested on a FakeClock (bridge_pipeline_test.cpp).
    config_.decision.timeout_ms = 10000;
    config_.mqtt.host = broker_->host();
    config_.mqtt.port = broker_->port();
    config_.mqtt.username = admin_.username;
    start_service();
    if (HasFatalFailure()) return;

    controller_ = &admin_client(&decisions_);
    ASSERT_TRUE(controller_->subscribe("castellan/v1/+/doors/+/decision").ok());
    ASSERT_TRUE(controller_->wait_subacks(1, 10s));
  }

  // The device side as `castellan server` starts it, with the server's MQTT session.
  void start_service() {
    auto options = service_mqtt_options(config_, admin_.password);
    options.reconnect_min = 50ms;
    options.reconnect_max = 500ms;
    bridge_client_ = std::make_unique<MqttClient>(options);
    publisher_ = std::make_unique<MqttPublisher>(*bridge_client_);
    service_ =
        std::make_unique<DeviceService>(clock_, config_, world_.doors, world_.engine, kCardSecret,
                                        *appender_, *publisher_, world_.metrics);
    ASSERT_TRUE(service_->attach(*bridge_client_).ok());
    ASSERT_TRUE(bridge_client_->start().ok());
    ASSERT_TRUE(bridge_client_->wait_connected(10s));
    ASSERT_TRUE(bridge_client_->wait_subacks(5, 10s));
    group_ = std::make_unique<runtime::TaskGroup>(registry_, "devices-test");
    service_->start(*group_, pool_.executor());
  }

  // And stopped as its shutdown does; the journal stays open.
  void stop_service() {
    service_->drain(*bridge_client_, 5s);
    bridge_client_->stop();
    group_->close_blocking(5s);
    service_.reset();
    publisher_.reset();
    bridge_client_.reset();
  }

  void TearDown() override {
    if (group_) group_->close_blocking(5s);
    if (bridge_client_) bridge_client_->stop();
    clients_.clear();
    journal_.reset();  // flushes: late callbacks land in a still-living service
    service_.reset();
    pool_.stop();
    pool_.join();
    std::filesystem::remove_all(journal_dir_);
    BrokerFixture::TearDown();
  }

  void swipe(const std::string& door, const std::string& payload, const std::string& site = "hq") {
    ASSERT_TRUE(
        controller_->publish("castellan/v1/" + site + "/doors/" + door + "/swipe", payload).ok());
  }

  // Waits (failure timeout only) for the decision answering `req`; checks topic and signature.
  std::optional<DecisionMessage> decision(const std::string& door, const std::string& req,
                                          std::size_t nth = 1) {
    for (int i = 0; i < 1000; ++i) {
      std::size_t seen = 0;
      for (const auto& m : decisions_.messages()) {
        auto d = parse_decision_message(m.payload);
        if (!d.ok() || d->req != req || m.topic != decision_topic("hq", door)) continue;
        if (++seen < nth) continue;
        if (door != "nope") {
          auto v = verify_signed_message(door_key(door), signed_fields("hq", door, *d), d->sig,
                                         clock_.now());
          EXPECT_TRUE(v.ok()) << req << ": " << (v.ok() ? "" : v.error().message);
        }
        return *d;
      }
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "no decision for " << req << " at " << door;
    return std::nullopt;
  }

  // Whether any decision message for `req` has reached the controller so far.
  bool answered_yet(const std::string& req) {
    for (const auto& m : decisions_.messages()) {
      if (m.payload.find("\"" + req + "\"") != std::string::npos) return true;
    }
    return false;
  }
  // How many decision records the journal holds for `req`.
  std::size_t times_journaled(const std::string& req) {
    std::size_t n = 0;
    for (const auto& r : records(journal::RecordKind::decision)) n += r.req == req;
    return n;
  }

  std::vector<journal::JournalRecord> records(journal::RecordKind kind) {
    journal::EventQuery q;
    q.kind = kind;
    q.limit = 1000;
    auto page = journal_->query(q);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->records : std::vector<journal::JournalRecord>{};
  }

  // Polls until `pred` holds (failure timeout only).
  template <class Pred>
  bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
    for (auto waited = 0ms; waited < timeout; waited += 10ms) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  SystemClock& clock_ = SystemClock::instance();
  AccessWorld world_{clock_};
  Config config_;
  std::string journal_dir_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<JournalAppender> appender_;
  std::unique_ptr<MqttClient> bridge_client_;
  std::unique_ptr<MqttPublisher> publisher_;
  std::unique_ptr<DeviceService> service_;
  runtime::IoPool pool_{1};
  runtime::TaskRegistry registry_{clock_};
  std::unique_ptr<runtime::TaskGroup> group_;
  MessageInbox decisions_;
  MqttClient* controller_ = nullptr;
};

TEST_F(BridgeMqttTest, EveryDecisionCodeEndToEndWithValidSignatures) {
  struct Case {
    std::string door, payload;
    int code;
    std::string decision;
  };
  const std::vector<Case> cases = {
      {"d1", swipe_json("e-ok", kUidOk), 0, "grant"},
      {"d1", swipe_json("e-bad", "nothex!!"), 40001, "deny"},
      {"d1", swipe_json("e-exp", kUidExpired), 40301, "deny"},
      {"d1", swipe_json("e-notyet", kUidNotYet), 40302, "deny"},
      {"d1", swipe_json("e-rev", kUidRevoked), 40303, "deny"},
      {"d1", swipe_json("e-unk", kUidUnknown), 40304, "deny"},
      {"d1", swipe_json("e-noacc", kUidNoAccess), 40305, "deny"},
      {"d1", swipe_json("e-sched", kUidSchedule), 40306, "deny"},
      {"locked-down", swipe_json("e-lock", kUidOk), 40309, "deny"},
      {"d1", swipe_json("e-susp", kUidSuspended), 40310, "deny"},
      {"nope", swipe_json("e-door", kUidOk), 40401, "deny"},
  };
  for (const auto& c : cases) swipe(c.door, c.payload);
  for (const auto& c : cases) {
    auto d = decision(c.door, c.payload.substr(8, c.payload.find('"', 8) - 8));
    ASSERT_TRUE(d) << c.payload;
    EXPECT_EQ(d->code, c.code) << c.payload;
    EXPECT_EQ(d->decision, c.decision) << c.payload;
  }
  ASSERT_TRUE(
      eventually([&] { return records(journal::RecordKind::decision).size() == cases.size(); }));
  for (const auto& r : records(journal::RecordKind::decision)) {
    EXPECT_EQ(r.source, "mqtt");
    EXPECT_EQ(r.gateway_ip, "127.0.0.1");  // the broker the swipe came through
    EXPECT_EQ(r.trace_id.size(), 32u);
    EXPECT_FALSE(r.req.empty());
    EXPECT_EQ(journal::to_json_line(r).find(kUidOk), std::string::npos) << "raw uid in journal";
  }
}

TEST_F(BridgeMqttTest, DuplicateReqGetsSameDecisionAndOneJournalRecord) {
  swipe("d1", swipe_json("dup-1", kUidOk));
  auto first = decision("d1", "dup-1");
  swipe("d1", swipe_json("dup-1", kUidOk));
  auto second = decision("d1", "dup-1", 2);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->code, second->code);
  EXPECT_EQ(first->decision, second->decision);
  // Three copies at once: none is decided twice, each is answered.
  for (int i = 0; i < 3; ++i) swipe("d1", swipe_json("dup-2", kUidRevoked));
  ASSERT_TRUE(decision("d1", "dup-2", 3));
  std::size_t dup1 = 0, dup2 = 0;
  for (const auto& r : records(journal::RecordKind::decision)) {
    dup1 += r.req == "dup-1";
    dup2 += r.req == "dup-2";
  }
  EXPECT_EQ(dup1, 1u);
  EXPECT_EQ(dup2, 1u);
}

TEST_F(BridgeMqttTest, MalformedPayloadsAreCountedAndDisturbNothing) {
  auto& m = service_->metrics();
  swipe("d1", "this is not json");
  swipe("d1", R"({"req":7,"card":"04a1b2c3"})");                 // no usable req
  swipe("d1", R"({"req":"w-1","card":12345678})");               // wrong type -> 40001
  swipe("d1", R"({"req":"w-2","card":"04a1b2c3","dir":"up"})");  // bad dir -> 40001
  // Over 4096 bytes: too large, but valid JSON with a req -> 40001 (contract §3); over the
  // 64 KiB that are read for a req: no reply.
  swipe("d1", "{\"req\":\"big\",\"card\":\"" + std::string(10000, 'a') + "\"}");
  swipe("d1", "{\"req\":\"huge\",\"card\":\"" + std::string(100000, 'a') + "\"}");
  // Over the broker's message_size_limit: dropped by the broker, never read by the server.
  swipe("d1", "{\"req\":\"vast\",\"card\":\"" + std::string(BrokerProcess::kMessageSizeLimit, 'a') +
                  "\"}");
  swipe("nope", swipe_json("w-3", kUidOk));  // unknown door -> 40401
  ASSERT_TRUE(
      controller_->publish("castellan/v1/HQ/doors/d1/swipe", swipe_json("w-4", kUidOk)).ok());
  ASSERT_TRUE(controller_->publish("castellan/v1/hq/devices/s1/telemetry", "[1]").ok());
  ASSERT_TRUE(controller_->publish("castellan/v1/hq/doors/d1/state", R"({"lock":"ajar"})").ok());
  // A good swipe after all of it is answered normally.
  swipe("d1", swipe_json("w-ok", kUidOk));
  auto ok = decision("d1", "w-ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(decision("d1", "w-1")->code, 40001);
  EXPECT_EQ(decision("d1", "w-2")->code, 40001);
  EXPECT_EQ(decision("nope", "w-3")->code, 40401);
  EXPECT_EQ(decision("d1", "big")->code, 40001);
  ASSERT_TRUE(eventually([&] { return m.rejected_count(RejectReason::kBadTopic) >= 1; }));
  EXPECT_EQ(m.rejected_count(RejectReason::kNotJson), 2.0) << "swipe + telemetry";
  EXPECT_EQ(m.rejected_count(RejectReason::kNoReq), 1.0);
  EXPECT_EQ(m.rejected_count(RejectReason::kBadField), 3.0) << "two swipes + state";
  EXPECT_EQ(m.rejected_count(RejectReason::kTooLarge), 2.0) << "the vast one never arrived";
  EXPECT_EQ(m.rejected_count(RejectReason::kUnknownDoor), 1.0);
  EXPECT_EQ(m.rejected_count(RejectReason::kBadTopic), 1.0) << "upper-case site";
  // Exactly the five swipes with a usable req were answered; nothing for the rest.
  std::size_t answered = 0;
  for (const auto& msg : decisions_.messages())
    answered += parse_decision_message(msg.payload).ok();
  EXPECT_EQ(answered, 5u) << "w-1, w-2, w-3, big, w-ok";
  auto text = world_.metrics.render();
  EXPECT_NE(text.find("castellan_mqtt_rejected_total{reason=\"too_large\"} 2"), std::string::npos);
}

TEST_F(BridgeMqttTest, RetainedSwipeIsDecidedLiveOnceAndIgnoredWhenReplayed) {
  // Published live with the retain bit: subscribers get it live (retain flag clear) once.
  ASSERT_TRUE(controller_
                  ->publish("castellan/v1/hq/doors/d1/swipe", swipe_json("r-1", kUidOk), 1,
                            /*retain=*/true)
                  .ok());
  auto live = decision("d1", "r-1");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->code, 0);
  // A new subscription makes the broker replay it with the retain flag set: a stale swipe that
  // must not be decided (or answered) again.
  ASSERT_TRUE(bridge_client_->subscribe("castellan/v1/hq/doors/d1/swipe").ok());
  auto& m = service_->metrics();
  ASSERT_TRUE(eventually([&] { return m.rejected_count(RejectReason::kRetained) >= 1; }));
  swipe("d1", swipe_json("r-2", kUidOk));
  ASSERT_TRUE(decision("d1", "r-2"));
  std::size_t answers = 0;
  for (const auto& msg : decisions_.messages()) {
    auto d = parse_decision_message(msg.payload);
    answers += d.ok() && d->req == "r-1";
  }
  EXPECT_EQ(answers, 1u);
  EXPECT_EQ(m.rejected_count(RejectReason::kRetained), 1.0);
  std::size_t journaled = 0;
  for (const auto& r : records(journal::RecordKind::decision)) journaled += r.req == "r-1";
  EXPECT_EQ(journaled, 1u);
}

TEST_F(BridgeMqttTest, BrokerKilledAndRestartedMidStream) {
  for (int i = 0; i < 20; ++i) swipe("d1", swipe_json("k-" + std::to_string(i), kUidOk));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(decision("d1", "k-" + std::to_string(i)));
  broker_->kill();
  ASSERT_TRUE(eventually([&] { return !bridge_client_->connected(); }));
  ASSERT_TRUE(broker_->start().ok());
  ASSERT_TRUE(bridge_client_->wait_connected(15s));
  ASSERT_TRUE(controller_->wait_connected(15s));
  ASSERT_TRUE(bridge_client_->wait_subacks(10, 10s)) << "re-subscribed after the restart";
  ASSERT_TRUE(controller_->wait_subacks(2, 10s));
  // Controllers re-send the last ones (QoS 1 redelivery) and carry on with new swipes.
  for (int i = 15; i < 40; ++i) swipe("d1", swipe_json("k-" + std::to_string(i), kUidOk));
  for (int i = 15; i < 40; ++i) {
    auto d = decision("d1", "k-" + std::to_string(i), i < 20 ? 2 : 1);
    ASSERT_TRUE(d) << i;
    EXPECT_EQ(d->code, 0);
  }
  auto recs = records(journal::RecordKind::decision);
  std::set<std::string> reqs;
  for (const auto& r : recs) reqs.insert(r.req);
  EXPECT_EQ(recs.size(), 40u);
  EXPECT_EQ(reqs.size(), 40u) << "nothing journaled twice";
  // The outage is on record once, begun and ended (however often the client retried).
  std::vector<std::string> outage;
  for (const auto& r : records(journal::RecordKind::resilience)) outage.push_back(r.extra);
  ASSERT_EQ(outage.size(), 2u) << ::testing::PrintToString(outage);
  EXPECT_EQ(outage[0], R"({"event":"degradation","state":"off","cause":"broker"})")
      << "newest first";
  EXPECT_EQ(
      outage[1].rfind(R"({"event":"degradation","state":"on","cause":"broker","reason":")", 0), 0u)
      << outage[1];
}

// The service's MQTT session outlives it: a swipe sent while it was stopped (a restart) is kept
// by the broker and answered, once, when it is back. With a clean session it would be lost.
TEST_F(BridgeMqttTest, ASwipeSentWhileTheServiceWasAwayIsAnsweredWhenItIsBack) {
  swipe("d1", swipe_json("before", kUidOk));
  ASSERT_TRUE(decision("d1", "before"));
  stop_service();
  swipe("d1", swipe_json("while-away", kUidOk));
  std::this_thread::sleep_for(200ms);  // the broker has it queued for the absent session
  EXPECT_FALSE(answered_yet("while-away")) << "answered while stopped?";
  start_service();
  ASSERT_FALSE(HasFatalFailure());
  auto d = decision("d1", "while-away");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, 0);
  EXPECT_EQ(times_journaled("while-away"), 1u);
}

// A graceful stop answers the swipes it has taken (their journal write still under way) before
// it leaves the broker, instead of turning their grants into 50301; a swipe that arrives while
// it stops is not read, stays with the broker and is answered, once, by the next start.
TEST_F(BridgeMqttTest, AStopAnswersSwipesTakenAndLeavesNewOnesForTheNextStart) {
  journal_->stall_for(3000ms);  // outlasts the wait below; within the fixture's 10 s deadline
  swipe("d1", swipe_json("in-flight", kUidOk));
  for (int i = 0; i < 500 && service_->swipes().unanswered() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(service_->swipes().unanswered(), 1u);
  std::thread stopper([&] { stop_service(); });
  std::this_thread::sleep_for(1500ms);  // the stop has begun: nothing more is read
  swipe("d1", swipe_json("during-stop", kUidOk));
  stopper.join();

  auto answered = decision("d1", "in-flight");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->code, 0) << "a grant taken before the stop is not turned into a 50301";
  EXPECT_FALSE(answered_yet("during-stop")) << "read while stopping";

  start_service();
  ASSERT_FALSE(HasFatalFailure());
  auto later = decision("d1", "during-stop");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->code, 0);
  EXPECT_EQ(times_journaled("in-flight"), 1u) << "no 50301 record after the grant";
  EXPECT_EQ(times_journaled("during-stop"), 1u);
}

TEST_F(BridgeMqttTest, HeartbeatsOnlineThenOfflineAfterTimeoutAndOnLastWill) {
  auto& hb = service_->heartbeats();
  // Telemetry first: the view below must be read within offline_after_ms (1 s of real time)
  // of the heartbeat, so nothing but the heartbeat's own arrival may stand between them.
  ASSERT_TRUE(controller_
                  ->publish("castellan/v1/hq/devices/ctl-1/telemetry",
                            R"({"metrics":{"temperature_c":21.5}})")
                  .ok());
  ASSERT_TRUE(eventually([&] { return !service_->telemetry().latest("ctl-1").empty(); }));
  ASSERT_TRUE(controller_
                  ->publish("castellan/v1/hq/devices/ctl-1/heartbeat",
                            R"({"fw":"1.2.3","uptime_s":5,"ts":"2026-11-22T03:04:05Z"})")
                  .ok());
  ASSERT_TRUE(eventually([&] { return hb.online_count() == 1; }));
  auto view = device_view_json(hb, service_->telemetry(), "ctl-1");
  ASSERT_TRUE(view);
  auto v = boost::json::parse(*view).as_object();
  EXPECT_EQ(v["status"].as_string(), "online");
  EXPECT_EQ(v["fw"].as_string(), "1.2.3");
  EXPECT_DOUBLE_EQ(v["telemetry"].as_object()["temperature_c"].as_double(), 21.5);
  // No more heartbeats: offline after offline_after_ms (1 s in this test).
  ASSERT_TRUE(eventually([&] { return hb.online_count() == 0; }));
  EXPECT_EQ(hb.device("ctl-1")->status, DeviceLiveness::kOffline);

  // A device whose connection drops: the broker publishes its will, it is offline at once. (A
  // timeout the will could lose a race with on a slow machine is now out of the way.)
  stop_service();
  config_.devices.offline_after_ms = 600000;
  start_service();
  ASSERT_FALSE(HasFatalFailure());
  auto& after = service_->heartbeats();
  auto o = options_for(admin_);
  o.will = MqttWill{"castellan/v1/hq/devices/ctl-2/status", "offline"};
  MqttClient& device = client(o);
  ASSERT_TRUE(device.publish("castellan/v1/hq/devices/ctl-2/heartbeat", "{}").ok());
  ASSERT_TRUE(eventually([&] { return after.online_count() == 1; }));
  device.stop_abruptly();
  ASSERT_TRUE(eventually([&] { return after.online_count() == 0; })) << "by its will";
  ASSERT_TRUE(eventually([&] { return records(journal::RecordKind::device_offline).size() == 2; }));
  EXPECT_EQ(records(journal::RecordKind::device_online).size(), 2u);
  bool saw_will = false;
  for (const auto& r : records(journal::RecordKind::device_offline)) {
    saw_will |= r.extra.find("last_will") != std::string::npos;
  }
  EXPECT_TRUE(saw_will);
  EXPECT_NE(world_.metrics.render().find("castellan_devices_online 0"), std::string::npos);
}

// Heartbeats the broker kept while the service was away are delivered when it is back, and are
// taken as fresh (a device's clock is not trusted to age them). A device that lost its
// connection meanwhile does not show online for 8 s on the strength of them: its last will was
// kept too, behind them, and takes it offline at once.
TEST_F(BridgeMqttTest, ADeviceThatDiedWhileTheServiceWasAwayIsOfflineAtOnceWhenItIsBack) {
  stop_service();
  config_.devices.offline_after_ms = 600000;  // only its will can take it offline
  MessageInbox& seen = new_inbox();
  MqttClient& watcher = admin_client(&seen);
  ASSERT_TRUE(watcher.subscribe("castellan/v1/hq/devices/ctl-2/#").ok());
  ASSERT_TRUE(watcher.wait_subacks(1, 10s));
  auto o = options_for(admin_);
  o.will = MqttWill{"castellan/v1/hq/devices/ctl-2/status", "offline"};
  MqttClient& device = client(o);
  ASSERT_TRUE(device.publish("castellan/v1/hq/devices/ctl-2/heartbeat", "{}").ok());
  ASSERT_TRUE(seen.wait_for_count(1)) << "the broker has the heartbeat, kept for the service";
  device.stop_abruptly();
  ASSERT_TRUE(seen.wait_for_payload("offline")) << "and the will behind it";
  start_service();
  ASSERT_FALSE(HasFatalFailure());
  auto& hb = service_->heartbeats();
  ASSERT_TRUE(eventually([&] { return records(journal::RecordKind::device_offline).size() == 1; }));
  EXPECT_EQ(records(journal::RecordKind::device_online).size(), 1u);
  EXPECT_NE(records(journal::RecordKind::device_offline)[0].extra.find("last_will"),
            std::string::npos);
  EXPECT_EQ(hb.device("ctl-2")->status, DeviceLiveness::kOffline);
}

TEST_F(BridgeMqttTest, ForcedOpenAndHeldOpenAlarmsRaisedAndCleared) {
  auto state = [&](const std::string& door, const std::string& payload) {
    ASSERT_TRUE(controller_->publish("castellan/v1/hq/doors/" + door + "/state", payload).ok());
  };
  auto alarms = [&](const std::string& door, const std::string& alarm, const std::string& st) {
    std::size_t n = 0;
    for (const auto& r : records(journal::RecordKind::door_alarm)) {
      if (r.door == door && r.extra.find("\"" + alarm + "\"") != std::string::npos &&
          r.extra.find("\"" + st + "\"") != std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  state("d1", R"({"lock":"locked","contact":"closed","beam":"clear"})");
  state("d1", R"({"contact":"open"})");
  ASSERT_TRUE(eventually([&] { return alarms("d1", "forced_open", "raised") == 1; }));
  state("d1", R"({"contact":"closed"})");
  ASSERT_TRUE(eventually([&] { return alarms("d1", "forced_open", "cleared") == 1; }));

  // A granted swipe, then the door opens: a normal passage, no alarm.
  swipe("d1", swipe_json("pass-1", kUidOk));
  ASSERT_TRUE(decision("d1", "pass-1"));
  state("d1", R"({"contact":"open"})");
  state("d1", R"({"contact":"closed"})");

  // "fire" has held_open_s = 1: hold it open, the ticker raises the alarm.
  state("fire", R"({"lock":"unlocked","contact":"open"})");
  ASSERT_TRUE(eventually([&] { return alarms("fire", "held_open", "raised") == 1; }));
  state("fire", R"({"contact":"closed"})");
  ASSERT_TRUE(eventually([&] { return alarms("fire", "held_open", "cleared") == 1; }));
  EXPECT_EQ(alarms("d1", "forced_open", "raised"), 1u) << "the granted opening was not forced";
  EXPECT_GE(records(journal::RecordKind::door_state).size(), 5u);
  auto assist = boost::json::parse(service_->door_states().assist_json("d1")).as_object();
  EXPECT_EQ(assist["recent"].as_array().size(), 1u);
}

}  // namespace
}  // namespace castellan::devices
