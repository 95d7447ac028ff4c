// MqttClient against a real mosquitto (BrokerFixture): round trip, reconnect after the broker
// was killed and restarted, last will, refused credentials, disconnected publish.
#include <gtest/gtest.h>

#include <thread>

#include "broker_fixture.hpp"
#include "devices/mqtt_client.hpp"
#include "held_port.hpp"
#include "runtime/task_registry.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;
using testing::BrokerFixture;
using testing::MessageInbox;

class MqttClientTest : public BrokerFixture {};

TEST_F(MqttClientTest, PublishSubscribeRoundTrip) {
  MessageInbox& inbox = new_inbox();
  MqttClient& sub = admin_client(&inbox);
  ASSERT_TRUE(sub.subscribe("castellan/test/#").ok());
  ASSERT_TRUE(sub.wait_subacks(1, 10s));
  MqttClient& pub = admin_client();
  ASSERT_TRUE(pub.publish("castellan/test/a", "hello").ok());
  ASSERT_TRUE(pub.publish("castellan/test/b", std::string("bin\0ary", 7)).ok());
  ASSERT_TRUE(inbox.wait_for_count(2));
  auto got = inbox.messages();
  EXPECT_EQ(got[0].topic, "castellan/test/a");
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_EQ(got[1].payload, std::string("bin\0ary", 7)) << "payloads are bytes, not C strings";
  EXPECT_EQ(pub.stats().published, 2u);
  EXPECT_EQ(sub.stats().received, 2u);
  EXPECT_EQ(sub.stats().connects, 1u);
  EXPECT_EQ(sub.stats().reconnects, 0u);
  EXPECT_EQ(sub.stats().subacks, 1u);
}

TEST_F(MqttClientTest, ReconnectsAndResubscribesAfterBrokerRestart) {
  MessageInbox& inbox = new_inbox();
  std::atomic<int> downs{0};
  auto o = options_for(admin_);
  auto& sub = *clients_.emplace_back(std::make_unique<MqttClient>(o));
  sub.on_message(inbox.handler());
  sub.on_state([&](bool up, std::string_view) {
    if (!up) downs.fetch_add(1);
  });
  ASSERT_TRUE(sub.start().ok());
  ASSERT_TRUE(sub.wait_connected(10s));
  ASSERT_TRUE(sub.subscribe("castellan/x").ok());
  ASSERT_TRUE(sub.wait_subacks(1, 10s));
  MqttClient& pub = admin_client();
  ASSERT_TRUE(pub.publish("castellan/x", "before").ok());
  ASSERT_TRUE(inbox.wait_for_count(1));

  const int port = broker_->port();
  broker_->kill();
  for (int i = 0; i < 500 && (sub.connected() || pub.connected()); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(sub.connected());
  EXPECT_FALSE(pub.publish("castellan/x", "while down").ok())
      << "publish must fail while disconnected";

  auto restarted = broker_->start();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  EXPECT_EQ(broker_->port(), port) << "restart reuses the port clients know";
  ASSERT_TRUE(sub.wait_connected(15s));
  ASSERT_TRUE(pub.wait_connected(15s));
  // The subscription was re-sent by the client itself (the broker kept no session).
  ASSERT_TRUE(sub.wait_subacks(2, 10s));
  ASSERT_TRUE(pub.publish("castellan/x", "after").ok());
  // QoS 1 is at-least-once: a "before" whose PUBACK was lost in the crash is re-sent after the
  // reconnect, so "before" may arrive twice; "while down" was refused and never arrives.
  ASSERT_TRUE(inbox.wait_for_payload("after"));
  for (const auto& m : inbox.messages()) EXPECT_NE(m.payload, "while down");
  EXPECT_GE(sub.stats().reconnects, 1u);
  EXPECT_GE(downs.load(), 1);
  sub.stop();  // its state handler refers to `downs`, which dies with this scope
}

TEST_F(MqttClientTest, LastWillIsPublishedWhenTheConnectionDrops) {
  MessageInbox& inbox = new_inbox();
  MqttClient& watcher = admin_client(&inbox);
  ASSERT_TRUE(watcher.subscribe("castellan/v1/hq/devices/+/status").ok());
  ASSERT_TRUE(watcher.wait_subacks(1, 10s));

  auto o = options_for(admin_);
  o.will = MqttWill{"castellan/v1/hq/devices/ctl-1/status", "offline"};
  MqttClient& device = client(o);
  // A clean stop first on another client: no will. Then the crash-like drop: will.
  auto o2 = options_for(admin_);
  o2.will = MqttWill{"castellan/v1/hq/devices/ctl-2/status", "offline"};
  MqttClient& clean = client(o2);
  clean.stop();
  device.stop_abruptly();
  ASSERT_TRUE(inbox.wait_for_count(1));
  // Order marker: anything sent after this arrives after any will of ctl-2 would have.
  MqttClient& pub = admin_client();
  ASSERT_TRUE(pub.publish("castellan/v1/hq/devices/marker/status", "marker").ok());
  ASSERT_TRUE(inbox.wait_for_count(2));
  auto got = inbox.messages();
  std::vector<std::string> topics;
  for (auto& m : got) topics.push_back(m.topic);
  EXPECT_NE(std::find(topics.begin(), topics.end(), "castellan/v1/hq/devices/ctl-1/status"),
            topics.end());
  EXPECT_EQ(std::find(topics.begin(), topics.end(), "castellan/v1/hq/devices/ctl-2/status"),
            topics.end())
      << "a clean DISCONNECT must not trigger the will";
  for (auto& m : got) {
    if (m.topic.ends_with("ctl-1/status")) {
      EXPECT_EQ(m.payload, "offline");
    }
  }
}

TEST_F(MqttClientTest, WrongPasswordNeverConnectsAndReportsWhy) {
  std::mutex mu;
  std::string reason;
  auto o = options_for(MqttCredentials{"admin", "wrong"});
  MqttClient c(o);
  c.on_state([&](bool up, std::string_view why) {
    std::lock_guard lock(mu);
    if (!up && reason.empty()) reason = std::string(why);
  });
  ASSERT_TRUE(c.start().ok());
  const auto refused = [&] {
    std::lock_guard lock(mu);
    return !reason.empty();
  };
  for (int i = 0; i < 1000 && !refused(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(c.connected());
  EXPECT_FALSE(c.publish("castellan/x", "y").ok());
  c.stop();
  std::lock_guard lock(mu);
  EXPECT_NE(reason.find("not authorised"), std::string::npos) << reason;
}

TEST(MqttClientNoBroker, PublishFailsWithClearErrorAndStopIsPrompt) {
  auto port = pick_free_loopback_port();
  ASSERT_TRUE(port.ok());
  MqttOptions o;
  o.port = *port;
  MqttClient c(o);
  ASSERT_TRUE(c.start().ok()) << "an unreachable broker is retried, not a start error";
  auto r = c.publish("castellan/x", "y");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(r.error().message.find("not connected"), std::string::npos);
  c.stop();
  c.stop();  // idempotent
  EXPECT_EQ(c.stats().publish_failed, 1u);
}

// The network thread is a daemon task of the registry it is given (contract §7: the MQTT loop is
// a registered task), waiting idle between attempts while the broker is away; gone after stop.
TEST(MqttClientNoBroker, ItsNetworkThreadIsARegisteredDaemonTask) {
  auto port = pick_free_loopback_port();
  ASSERT_TRUE(port.ok());
  runtime::TaskRegistry registry(SystemClock::instance());
  MqttOptions o;
  o.port = *port;
  o.tasks = &registry;
  MqttClient c(o);
  ASSERT_TRUE(c.start().ok());
  std::vector<runtime::TaskInfo> tasks;
  for (int i = 0; i < 1000; ++i) {
    tasks = registry.snapshot();
    if (tasks.size() == 1 && tasks[0].waiting_on == "mqtt: reconnect backoff") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "mqtt network loop");
  EXPECT_EQ(tasks[0].group, "devices");
  EXPECT_TRUE(tasks[0].daemon);
  EXPECT_NE(tasks[0].spawn_site.find("src/devices/mqtt_client.cpp"), std::string::npos);
  EXPECT_EQ(tasks[0].waiting_on, "mqtt: reconnect backoff");
  EXPECT_EQ(tasks[0].wait_kind, runtime::WaitKind::kIdle) << "waiting for a broker is not stuck";
  c.stop();
  EXPECT_EQ(registry.active_count(), 0u);
}

// A broker that is not there is said once, with the reason, however often the client retries.
TEST(MqttClientState, AFailedConnectIsReportedOncePerReason) {
  // Bound but not listening, for the whole test: every attempt is refused, and no test running
  // alongside can take the port (a released one was once taken by another test's listener,
  // which then dropped the client: a second reason).
  const int bound = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(bound, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_bound{bound};
  const int port = ntohs(addr.sin_port);
  MqttOptions o;
  o.port = port;
  o.reconnect_min = std::chrono::milliseconds(20);
  o.reconnect_max = std::chrono::milliseconds(40);
  MqttClient c(o);
  std::mutex mu;
  std::vector<std::string> reasons;
  c.on_state([&](bool connected, std::string_view reason) {
    std::lock_guard lock(mu);
    reasons.push_back((connected ? "up: " : "down: ") + std::string(reason));
  });
  ASSERT_TRUE(c.start().ok());
  const auto reported = [&] {
    std::lock_guard lock(mu);
    return !reasons.empty();
  };
  for (int i = 0; i < 1000 && !reported(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(reported()) << "the first failed attempt is reported";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a dozen attempts or more since
  c.stop();
  std::lock_guard lock(mu);
  ASSERT_EQ(reasons.size(), 1u) << ::testing::PrintToString(reasons);
  EXPECT_EQ(reasons[0],
            "down: cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(MqttClientOptions, RejectsBadTlsFileAndBadFilter) {
  MqttOptions o;
  o.tls_ca = "/nonexistent/ca.pem";
  MqttClient c(o);
  auto r = c.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/ca.pem"), std::string::npos);
  MqttClient d(MqttOptions{});
  EXPECT_FALSE(d.subscribe("a/#/b").ok());
}

TEST(ParseHostPort, AcceptsAndRejects) {
  auto ok = parse_host_port("127.0.0.1:1883");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first, "127.0.0.1");
  EXPECT_EQ(ok->second, 1883);
  for (const char* bad :
       {"", "host", "host:", ":1883", "h:0", "h:65536", "h:12x", "h:99999999999"}) {
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace castellan::devices
