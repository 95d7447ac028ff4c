// Contract §5 for the whole service, not only the journal: `castellan server` killed with
// SIGKILL at a random moment while doors swipe over MQTT. After a restart on the same data dir,
// every decision a door received is in the journal once, with the code the door got; each swipe
// the doors send again is answered as before without a second record; and the chain verifies.
// (tests/journal/crash_test.cpp kills the journal alone, many more times.)
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "app/child_process.hpp"
#include "castellan_binary.hpp"
#include "core/time.hpp"
#include "demo_fixture.hpp"
#include "devices/mqtt_client.hpp"

namespace castellan::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

using testing::kBinary;
using testing::process_alive;
using testing::read_file;
using testing::run;

struct Swipe {
  std::string door;
  std::string req;
  std::string card;
};

// Every door of the demo's site at once, through the demo's `mqtt_admin` account: sends swipes
// and keeps the code of the first decision each `req` got.
class Doors {
 public:
  explicit Doors(const json::object& demo) : client_(options(demo)) {
    client_.on_message([this](std::string_view, std::string_view payload, bool) {
      const auto decision = json::parse(payload).as_object();
      std::lock_guard lock(mu_);
      answers_.try_emplace(std::string(decision.at("req").as_string()),
                           static_cast<int>(decision.at("code").as_int64()));
      cv_.notify_all();
    });
  }

  bool connect() {
    return client_.start().ok() && client_.wait_connected(10s) &&
           client_.subscribe("castellan/v1/hq/doors/+/decision").ok() &&
           client_.wait_subacks(1, 10s);
  }
  void send(const Swipe& s) {
    const auto published =
        client_.publish("castellan/v1/hq/doors/" + s.door + "/swipe",
                        R"({"req":")" + s.req + R"(","card":")" + s.card + R"(","dir":"in"})");
    EXPECT_TRUE(published.ok()) << s.req;
  }
  // True once every one of `swipes` has its answer.
  bool wait_answered(const std::vector<Swipe>& swipes, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      return std::all_of(swipes.begin(), swipes.end(),
                         [&](const Swipe& s) { return answers_.contains(s.req); });
    });
  }
  std::map<std::string, int> answers() {
    std::lock_guard lock(mu_);
    return answers_;
  }
  void stop() { client_.stop(); }

 private:
  static devices::MqttOptions options(const json::object& demo) {
    const std::string mqtt(demo.at("mqtt").as_string());
    devices::MqttOptions o;
    o.port = std::stoi(mqtt.substr(mqtt.rfind(':') + 1));
    o.username = demo.at("mqtt_admin").at("username").as_string();
    o.password = demo.at("mqtt_admin").at("password").as_string();
    return o;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> answers_;
  devices::MqttClient client_;  // last: its thread calls into the members above
};

class ServerKillTest : public testing::DemoFixture {
 protected:
  // No per-door limit, so that a steady stream is decided, not refused 42901; an hour's
  // de-duplication window, so that a slow restart (sanitizers, a loaded machine) still finds
  // the answers of the swipes sent again.
  json::object start_kill_demo() {
    return start_demo(
        {"--set", "decision.door_swipes_per_s=0", "--set", "decision.dedupe_window_s=3600"});
  }
};

TEST_F(ServerKillTest, EveryDecisionADoorGotIsInTheJournalOnceAfterTheServerIsKilled) {
  const auto seed = std::random_device{}();
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937 random(seed);

  // Cards that are granted, expired and unknown, on every door: many codes, all journaled.
  std::vector<std::string> cards;  // read from the lists the demo writes, after its first start
  std::string journal_dir;
  std::map<std::string, int> got;  // req → the code the door got, over all runs
  // req → the moment of the kill that followed its answer: its record must be older, not a
  // decision made again after the restart because the record the door was answered with was lost.
  std::map<std::string, TimePoint> answered_before_kill;
  std::vector<Swipe> last_run;  // sent again after the restart, as a controller would
  int next_req = 0;
  constexpr int kKills = 3;

  for (int run = 0; run <= kKills; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const auto demo = start_kill_demo();
    ASSERT_FALSE(demo.empty());
    if (cards.empty()) {
      journal_dir = demo.at("journal_dir").as_string();
      for (const char* list : {"sim-valid-cards.json", "sim-expired-cards.json"}) {
        const auto uids = json::parse(read_file(dir_ / list));
        for (const auto& uid : uids.as_array()) {
          cards.emplace_back(uid.as_string());
        }
      }
      cards.emplace_back("04DEADBEEF000001");  // no such card
    }
    Doors doors(demo);
    ASSERT_TRUE(doors.connect());

    // The swipes of the run before, sent again: those the doors got an answer to get the same
    // one now, from the journal; the rest are decided now.
    for (const auto& s : last_run) doors.send(s);
    ASSERT_TRUE(doors.wait_answered(last_run, 60s)) << read_file(log_);
    for (const auto& [req, code] : doors.answers()) {
      const auto [before, fresh] = got.try_emplace(req, code);
      EXPECT_EQ(before->second, code) << req << " was answered otherwise before the kill";
    }
    if (run == kKills) {
      doors.stop();
      break;
    }

    // Bursts of swipes over every door for a while, then SIGKILL to the server at a random
    // moment of the last burst's journey: before it arrives, while it is decided, lingers for
    // its group commit, is written, synced or published.
    const auto server_pid = static_cast<pid_t>(demo.at("pid").as_int64());
    const int bursts = std::uniform_int_distribution(10, 100)(random);
    last_run.clear();
    for (int burst = 0; burst < bursts; ++burst) {
      if (burst > 0) std::this_thread::sleep_for(5ms);
      for (int i = 0; i < 25; ++i, ++next_req) {
        Swipe s{"d" + std::to_string(1 + next_req % 10), "kill-" + std::to_string(next_req),
                cards[std::uniform_int_distribution<std::size_t>(0, cards.size() - 1)(random)]};
        doors.send(s);
        last_run.push_back(std::move(s));
      }
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution(0, 3000)(random)));
    ASSERT_EQ(::kill(server_pid, SIGKILL), 0);
    const auto killed_at =
        std::chrono::time_point_cast<TimePoint::duration>(std::chrono::system_clock::now());
    ASSERT_TRUE(demo_exits_within(30s)) << "the demo did not notice its server died";
    EXPECT_FALSE(process_alive(server_pid));
    // What reached the doors before the broker went down with the demo.
    for (const auto& [req, code] : doors.answers()) {
      got.try_emplace(req, code);
      answered_before_kill.try_emplace(req, killed_at);
    }
    doors.stop();
  }

  ::kill(demo_.pid(), SIGTERM);
  ASSERT_TRUE(demo_exits_within(30s));
  EXPECT_EQ(demo_.exit_code(), 0) << read_file(log_);
  ASSERT_GE(got.size(), static_cast<std::size_t>(next_req))
      << "every swipe was answered in the end";

  const auto verified = run(kBinary + " journal verify " + journal_dir);
  EXPECT_EQ(verified.code, 0) << verified.output;
  const auto exported = run(kBinary + " journal export " + journal_dir);
  ASSERT_EQ(exported.code, 0) << exported.output;
  const std::string& lines = exported.output;
  std::map<std::string, std::vector<int>> codes;  // req → the codes of its decision records
  std::map<std::string, TimePoint> decided_at;    // req → its last decision record's ts
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    const auto record = json::parse(line).as_object();
    const auto* req = record.if_contains("req");
    if (record.at("kind") != "decision" || req == nullptr) continue;
    const std::string name(req->as_string());
    codes[name].push_back(static_cast<int>(record.at("code").as_int64()));
    decided_at[name] = *parse_utc(record.at("ts").as_string());
  }
  for (const auto& [req, code] : got) {
    EXPECT_EQ(codes[req], std::vector<int>{code}) << req << ": journaled once, as answered";
  }
  for (const auto& [req, killed_at] : answered_before_kill) {
    EXPECT_LT(decided_at[req], killed_at) << req << " was answered before a kill, but its record "
                                          << "is from after it: the first one was lost";
  }
}

}  // namespace
}  // namespace castellan::app
