// `castellan demo` end to end: it starts broker + server, answers a swipe over MQTT with a
// correctly signed decision, journals it, streams that decision to an HTTPS event-stream (SSE)
// client, journals a force unlock with the operator's name, and stops every child on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/child_process.hpp"
#include "app/http_probe.hpp"
#include "castellan_binary.hpp"
#include "demo_fixture.hpp"
#include "devices/mqtt_client.hpp"
#include "devices/signing.hpp"

namespace castellan::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

using testing::kBinary;
using testing::process_alive;
using testing::read_file;

json::object read_json(const std::string& path) {
  return json::parse(read_file(path)).as_object();
}

// Field 5 of /proc/PID/stat: the process group.
pid_t process_group(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(stat.substr(stat.rfind(") ") + 2));
  std::string state;
  pid_t ppid = 0, pgrp = 0;
  in >> state >> ppid >> pgrp;
  return pgrp;
}

// Polls `path` until `done(content)` holds or `timeout` passes; returns the last content.
template <typename Done>
std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout, Done done) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::string content = read_file(path);
  while (!done(content) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    content = read_file(path);
  }
  return content;
}

// curl against the demo's HTTPS API (TLS 1.3, verified with the demo's CA): its output, once
// it has exited.
std::string curl(const std::string& out_path, std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/curl", "-sS", "--tlsv1.3", "--max-time", "10"});
  fs::remove(out_path);  // the child appends
  ChildProcess child;
  EXPECT_TRUE(child.start(args, out_path).ok());
  for (int i = 0; i < 240 && child.running(); ++i) std::this_thread::sleep_for(50ms);
  child.stop();
  return read_file(out_path);
}

class DemoTest : public testing::DemoFixture {
 protected:
  // "Authorization: Bearer …" for the demo's admin account; empty (and a failure) if refused.
  std::string admin_bearer(const json::object& info) {
    std::string password;
    std::ifstream(std::string(info.at("admin_password_file").as_string())) >> password;
    const std::string login =
        curl((dir_ / "login.out").string(),
             {"--cacert", std::string(info.at("ca").as_string()), "-X", "POST",
              std::string(info.at("api").as_string()) + "/v1/auth/token", "-d",
              R"({"username":"admin","password":")" + password + R"("})"});
    boost::system::error_code ec;
    const json::value reply = json::parse(login, ec);
    const auto* token = !ec && reply.is_object() ? reply.as_object().if_contains("token") : nullptr;
    if (token == nullptr || !token->is_string()) {
      ADD_FAILURE() << "login refused: " << login;
      return {};
    }
    return "Authorization: Bearer " + std::string(token->as_string());
  }

  // The demo's mosquitto, from the pid file it writes.
  pid_t demo_broker_pid() const {
    pid_t pid = 0;
    std::ifstream((dir_ / "broker" / "mosquitto.pid").string()) >> pid;
    return pid;
  }
};

TEST_F(DemoTest, AnswersASignedDecisionAndStopsCleanly) {
  const auto info = start_demo();
  ASSERT_FALSE(info.empty());
  for (const char* key : {"api", "ops", "mqtt", "ca", "admin_password_file", "site", "journal_dir",
                          "pid", "mqtt_admin"}) {
    EXPECT_TRUE(info.contains(key)) << key;
  }
  EXPECT_EQ(info.at("site").as_string(), "hq");
  const auto server_pid = static_cast<pid_t>(info.at("pid").as_int64());
  EXPECT_TRUE(process_alive(server_pid));
  // SIGXFSZ is ignored, so a file size limit fails journal appends instead of killing it.
  const std::string status = read_file("/proc/" + std::to_string(server_pid) + "/status");
  const auto at = status.find("SigIgn:\t");
  ASSERT_NE(at, std::string::npos) << status;
  const auto ignored = std::stoull(status.substr(at + 8, 16), nullptr, 16);
  EXPECT_NE(ignored & (1ULL << (SIGXFSZ - 1)), 0u) << "SigIgn " << std::hex << ignored;
  // SIGHUP (a `reload`, a closed terminal) is logged and ignored, not a stop without a drain:
  // everything below needs the server still running, and its final stop exits 0.
  ASSERT_EQ(::kill(server_pid, SIGHUP), 0);
  EXPECT_TRUE(fs::exists(std::string(info.at("ca").as_string())));
  EXPECT_EQ(fs::status(std::string(info.at("admin_password_file").as_string())).permissions() &
                fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const std::string ops(info.at("ops").as_string());
  const int ops_port = std::stoi(ops.substr(ops.rfind(':') + 1));
  EXPECT_EQ(http_get_status("127.0.0.1", ops_port, "/readyz", 2000ms), 200);

  // A swipe from a card of the `security` group (no schedule) at d1, over MQTT.
  const std::string mqtt(info.at("mqtt").as_string());
  devices::MqttOptions options;
  options.host = "127.0.0.1";
  options.port = std::stoi(mqtt.substr(mqtt.rfind(':') + 1));
  options.username = info.at("mqtt_admin").at("username").as_string();
  options.password = info.at("mqtt_admin").at("password").as_string();
  devices::MqttClient client(options);
  std::mutex mu;
  std::condition_variable cv;
  std::string decision;
  client.on_message([&](std::string_view, std::string_view payload, bool) {
    std::lock_guard lock(mu);
    decision = std::string(payload);
    cv.notify_all();
  });
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(client.wait_connected(5s));
  ASSERT_TRUE(client.subscribe("castellan/v1/hq/doors/d1/decision").ok());
  ASSERT_TRUE(client.wait_subacks(1, 5s));
  ASSERT_TRUE(client
                  .publish("castellan/v1/hq/doors/d1/swipe",
                           R"({"req":"demo-test-1","card":"04C400005EED0005","dir":"in"})")
                  .ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !decision.empty(); })) << "no decision";
  }
  const auto d = json::parse(decision).as_object();
  EXPECT_EQ(d.at("req").as_string(), "demo-test-1");
  EXPECT_EQ(d.at("decision").as_string(), "grant") << decision;
  EXPECT_EQ(d.at("code").as_int64(), 0);
  const auto keys = read_json((dir_ / "door-keys.json").string());
  auto key = devices::door_key_from_hex(keys.at("d1").as_string());
  ASSERT_TRUE(key.ok());
  devices::SignedFields fields{.site = "hq",
                               .door = "d1",
                               .id = "demo-test-1",
                               .verb = "grant",
                               .code = 0,
                               .unlock_ms = d.at("unlock_ms").as_int64(),
                               .exp = std::string(d.at("exp").as_string())};
  EXPECT_TRUE(devices::signature_matches(*key, fields, d.at("sig").as_string())) << decision;

  // Over HTTPS: the event stream sees a decision made over MQTT, and a force unlock is
  // journaled with the name of the operator who asked for it.
  const std::string api(info.at("api").as_string());
  const std::string ca(info.at("ca").as_string());
  const std::string bearer = admin_bearer(info);
  ASSERT_FALSE(bearer.empty());

  const std::string sse_out = (dir_ / "sse.out").string();
  ChildProcess sse;
  ASSERT_TRUE(sse.start({"/usr/bin/curl", "-sSN", "--tlsv1.3", "--max-time", "30", "--cacert", ca,
                         "-H", bearer, api + "/v1/events/stream"},
                        sse_out)
                  .ok());
  auto opened = wait_for_file(sse_out, 10s, [](const std::string& c) {
    return c.find(": stream open") != std::string::npos;
  });
  ASSERT_NE(opened.find(": stream open"), std::string::npos) << opened;
  ASSERT_TRUE(client
                  .publish("castellan/v1/hq/doors/d1/swipe",
                           R"({"req":"demo-test-sse","card":"04C400005EED0005","dir":"in"})")
                  .ok());
  auto streamed = wait_for_file(sse_out, 10s, [](const std::string& c) {
    return c.find(R"("req":"demo-test-sse")") != std::string::npos;
  });
  sse.stop();
  const auto line_start =
      streamed.find("data: {", streamed.rfind("\n", streamed.find(R"("req":"demo-test-sse")")));
  ASSERT_NE(line_start, std::string::npos) << streamed;
  const auto line_end = streamed.find('\n', line_start);
  const auto event =
      json::parse(streamed.substr(line_start + 6, line_end - line_start - 6)).as_object();
  EXPECT_EQ(event.at("kind").as_string(), "decision");
  EXPECT_EQ(event.at("source").as_string(), "mqtt");
  EXPECT_EQ(event.at("decision").as_string(), "grant");

  // The demo runs no simulator, so the door's state is unknown: an admin overrides.
  const std::string unlocked =
      curl((dir_ / "unlock.out").string(),
           {"--cacert", ca, "-H", bearer, "-X", "POST", api + "/v1/doors/d1/unlock", "-d",
            R"({"duration_ms":3000,"reason":"demo test","override":true})"});
  EXPECT_NE(unlocked.find(R"("unlocked":true)"), std::string::npos) << unlocked;
  const std::string events =
      curl((dir_ / "events.out").string(),
           {"--cacert", ca, "-H", bearer, api + "/v1/events?kind=force_unlock&door=d1&limit=5"});
  const json::value listed = json::parse(events);
  const auto& items = listed.as_object().at("events").as_array();
  ASSERT_FALSE(items.empty()) << events;
  EXPECT_EQ(items.front().at("actor").as_string(), "admin") << events;
  EXPECT_EQ(items.front().at("reason").as_string(), "demo test") << events;
  const auto assist = [&](const json::object& demo) {  // d1's, from the demo `demo.json` names
    const std::string reply =
        curl((dir_ / "assist.out").string(),
             {"--cacert", std::string(demo.at("ca").as_string()), "-H", admin_bearer(demo),
              std::string(demo.at("api").as_string()) + "/v1/doors/d1/assist"});
    boost::system::error_code ec;
    auto parsed = json::parse(reply, ec);
    EXPECT_FALSE(ec) << reply << "\ndemo output:\n" << read_file(log_);
    return ec ? json::object{} : parsed.as_object();
  };
  const auto assist_before = assist(info);
  EXPECT_EQ(assist_before.at("decisions_24h").as_int64(), 2) << assist_before;
  client.stop();

  const pid_t broker_pid = demo_broker_pid();
  EXPECT_TRUE(process_alive(broker_pid));

  // SIGTERM: every child stops, the demo exits 0, and the journal verifies.
  ::kill(demo_.pid(), SIGTERM);
  EXPECT_TRUE(demo_exits_within(30s)) << "demo did not stop within 30 s";
  EXPECT_EQ(demo_.exit_code(), 0);
  EXPECT_FALSE(process_alive(server_pid)) << "server left behind";
  EXPECT_FALSE(process_alive(broker_pid)) << "mosquitto left behind";

  const auto verify = kBinary + " journal verify " +
                      std::string(info.at("journal_dir").as_string()) + " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(::system(verify.c_str())), 0);

  // Started again on the same data dir, the server shows the door's decision counts and
  // passages of before the stop (app/door_history_file).
  const auto again = start_demo();
  ASSERT_FALSE(again.empty());
  const auto assist_after = assist(again);
  EXPECT_EQ(assist_after.at("decisions_24h"), assist_before.at("decisions_24h")) << assist_after;
  EXPECT_EQ(assist_after.at("recent"), assist_before.at("recent")) << assist_after;
}

// Every change made through the API is journaled (contract §6), a crash between its commit and
// its record included: a site is created while the journal is held up, and the server is
// killed before the site's admin record is written. The next start journals the change.
TEST_F(DemoTest, AChangeWhoseRecordAKillKeptFromTheJournalIsJournaledAtTheNextStart) {
  const auto info = start_demo({"--set", "debug.fault_injection=true"});
  ASSERT_FALSE(info.empty());
  const std::string api(info.at("api").as_string());
  const std::string ca(info.at("ca").as_string());
  const std::string bearer = admin_bearer(info);
  ASSERT_FALSE(bearer.empty());
  const std::string stalled =
      curl((dir_ / "stall.out").string(),
           {"--cacert", ca, "-H", bearer, "-X", "POST", api + "/v1/debug/faults", "-d",
            R"({"kind":"stall_journal","ms":600000})"});
  ASSERT_NE(stalled.find(R"("injected":"stall_journal")"), std::string::npos) << stalled;

  ChildProcess create;  // waits for its record, which the stalled journal holds
  ASSERT_TRUE(create
                  .start({"/usr/bin/curl", "-sS", "--tlsv1.3", "--max-time", "30", "--cacert", ca,
                          "-H", bearer, "-X", "POST", api + "/v1/sites", "-d",
                          R"({"id":"annex","name":"Annex","tz":"UTC"})"},
                         (dir_ / "create.out").string())
                  .ok());
  std::string site;
  for (int i = 0; i < 100 && site.find(R"("id":"annex")") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    site =
        curl((dir_ / "site.out").string(), {"--cacert", ca, "-H", bearer, api + "/v1/sites/annex"});
  }
  ASSERT_NE(site.find(R"("id":"annex")"), std::string::npos) << "never committed: " << site;
  const auto server_pid = static_cast<pid_t>(info.at("pid").as_int64());
  ASSERT_EQ(::kill(server_pid, SIGKILL), 0);
  EXPECT_TRUE(demo_exits_within(30s));
  create.stop();

  const auto again = start_demo();
  ASSERT_FALSE(again.empty());
  const std::string events =
      curl((dir_ / "events.out").string(),
           {"--cacert", std::string(again.at("ca").as_string()), "-H", admin_bearer(again),
            std::string(again.at("api").as_string()) + "/v1/events?kind=admin&limit=50"});
  json::object recovered;
  boost::system::error_code ec;
  const auto page = json::parse(events, ec);
  ASSERT_TRUE(!ec && page.is_object() && page.as_object().contains("events")) << events;
  for (const auto& e : page.at("events").as_array()) {
    const auto* what = e.as_object().if_contains("what");
    if (what && what->is_object() && what->as_object().if_contains("action") &&
        what->at("action") == "recovered_change") {
      recovered = e.as_object();
    }
  }
  ASSERT_FALSE(recovered.empty()) << events;
  EXPECT_EQ(recovered.at("actor"), "admin");
  EXPECT_EQ(recovered.at("what").at("route"), "POST /v1/sites");
  EXPECT_EQ(json::serialize(recovered.at("what").at("writes")),
            R"([{"op":"insert","collection":"sites","id":"annex"}])");
  EXPECT_NE(read_file((dir_ / "server.log").string()).find("journaled now as 'recovered_change'"),
            std::string::npos);
}

// A demo killed outright (kill -9, a crash) takes its children with it, and a terminal's
// Ctrl-C reaches only the demo: each child has a process group of its own.
TEST_F(DemoTest, AKilledDemoLeavesNoChildBehind) {
  const auto info = start_demo();
  ASSERT_FALSE(info.empty());
  const auto server_pid = static_cast<pid_t>(info.at("pid").as_int64());
  const pid_t broker_pid = demo_broker_pid();
  ASSERT_TRUE(process_alive(server_pid));
  ASSERT_TRUE(process_alive(broker_pid));
  EXPECT_NE(process_group(server_pid), process_group(demo_.pid()));
  EXPECT_NE(process_group(broker_pid), process_group(demo_.pid()));

  ::kill(demo_.pid(), SIGKILL);
  for (int i = 0; i < 300 && (process_alive(server_pid) || process_alive(broker_pid)); ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(process_alive(server_pid)) << "server left behind";
  EXPECT_FALSE(process_alive(broker_pid)) << "mosquitto left behind";
  for (pid_t left : {server_pid, broker_pid}) {  // the failure above must not outlive the test
    if (process_alive(left)) ::kill(left, SIGKILL);
  }
}

// Ctrl-C or SIGTERM while the demo waits for its server to become ready stops it at once,
// not after the 60 s wait: the server here never becomes ready, as the test stops (SIGSTOP) the
// demo's broker as soon as it has started, so the server's CONNECT is never answered. (The
// demo's children do not see the caller's CASTELLAN_* variables, so no override can do it.)
TEST_F(DemoTest, AStopWhileWaitingForTheServerEndsTheDemoAtOnce) {
  ASSERT_TRUE(demo_.start({kBinary, "demo", "--data-dir", dir_.string(), "--no-sim"}, log_).ok());
  pid_t broker_pid = 0;
  for (int i = 0; i < 3000 && broker_pid <= 0 && demo_.running(); ++i) {
    std::this_thread::sleep_for(10ms);
    broker_pid = demo_broker_pid();
  }
  ASSERT_GT(broker_pid, 0) << read_file(log_);
  ASSERT_EQ(::kill(broker_pid, SIGSTOP), 0);
  struct Resume {  // a stopped broker would not act on the SIGTERM it gets when the demo ends
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{broker_pid};
  const std::string server_log = (dir_ / "server.log").string();
  const auto connecting = wait_for_file(server_log, 30s, [](const std::string& text) {
    return text.find("connecting to the MQTT broker") != std::string::npos;
  });
  ASSERT_NE(connecting.find("connecting to the MQTT broker"), std::string::npos) << connecting;
  ASSERT_TRUE(demo_.running());
  EXPECT_FALSE(fs::exists(dir_ / "demo.json")) << "the server became ready after all";
  ::kill(demo_.pid(), SIGTERM);
  ::kill(broker_pid, SIGCONT);
  // Well under the 60 s the demo would otherwise wait for its server.
  EXPECT_TRUE(demo_exits_within(40s)) << "still waiting for the server 40 s after SIGTERM";
  EXPECT_EQ(demo_.exit_code(), 0);
}

// A child that dies ends the demo with its log and exit 1, instead of a demo that only pretends
// to run (here the broker; the server and the simulator are watched the same way).
TEST_F(DemoTest, ABrokerThatDiesEndsTheDemoWithItsLog) {
  const auto info = start_demo();
  ASSERT_FALSE(info.empty());
  const auto server_pid = static_cast<pid_t>(info.at("pid").as_int64());
  const pid_t broker_pid = demo_broker_pid();
  ASSERT_TRUE(process_alive(broker_pid));
  ::kill(broker_pid, SIGKILL);
  ASSERT_TRUE(demo_exits_within(15s)) << "the demo ran on without its broker";
  EXPECT_EQ(demo_.exit_code(), 1);
  EXPECT_NE(read_file(log_).find("castellan demo: the MQTT broker exited"), std::string::npos)
      << read_file(log_);
  EXPECT_FALSE(process_alive(server_pid)) << "server left behind";
  if (process_alive(server_pid)) ::kill(server_pid, SIGKILL);
}

}  // namespace
}  // namespace castellan::app
