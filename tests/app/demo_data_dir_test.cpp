// `castellan demo` and what it finds around it: a data dir used before (nothing of the
// previous run is shown as the current one), a second demo on the same dir (refused before it
// changes anything), the caller's CASTELLAN_* variables (its children never see them) and a
// data dir whose name TOML would have to escape.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "../devices/held_port.hpp"
#include "app/child_process.hpp"
#include "castellan_binary.hpp"
#include "core/config.hpp"

namespace castellan::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

using testing::kBinary;
using testing::process_alive;
using testing::read_file;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path) << content;
}

// The NUL-separated environment of a running process.
std::vector<std::string> environment_of(pid_t pid) {
  const std::string raw = read_file("/proc/" + std::to_string(pid) + "/environ");
  std::vector<std::string> entries;
  for (std::size_t at = 0; at < raw.size();) {
    const auto end = raw.find('\0', at);
    entries.push_back(raw.substr(at, end - at));
    at = end == std::string::npos ? raw.size() : end + 1;
  }
  return entries;
}

// True if one of `pid`'s open file descriptors is `file`.
bool has_open(pid_t pid, const fs::path& file) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    if (fs::read_symlink(fd.path(), ec) == file) return true;
  }
  return false;
}

class DemoDataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("castellan-demo-dir-test-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_);
    dir_ = base_ / "data";
  }
  void TearDown() override {
    demo_.stop();
    second_.stop();
    fs::remove_all(base_);
  }

  // `castellan demo --data-dir DIR --no-sim`, with `env` (NAME=value) added to its
  // environment; its output goes to base_/`log`.
  void start(ChildProcess& demo, const fs::path& dir, const std::string& log,
             const std::vector<std::string>& env = {},
             const std::vector<std::string>& demo_args = {}) {
    std::vector<std::string> args{"/usr/bin/env"};
    args.insert(args.end(), env.begin(), env.end());
    args.insert(args.end(), {kBinary, "demo", "--data-dir", dir.string(), "--no-sim"});
    args.insert(args.end(), demo_args.begin(), demo_args.end());
    ASSERT_TRUE(demo.start(args, (base_ / log).string()).ok());
  }

  // demo.json once it describes a ready demo, or {} if the demo exited first.
  json::object wait_ready(ChildProcess& demo, const fs::path& dir, const std::string& log) {
    const fs::path info = dir / "demo.json";
    for (int i = 0; i < 600 && demo.running(); ++i) {
      std::error_code ec;
      const auto parsed = json::parse(read_file(info), ec);
      if (!ec && parsed.is_object()) return parsed.as_object();
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "demo.json never appeared; demo output:\n" << read_file(base_ / log);
    return {};
  }

  static bool exits_within(ChildProcess& demo, std::chrono::milliseconds limit) {
    for (auto waited = 0ms; demo.running() && waited < limit; waited += 50ms) {
      std::this_thread::sleep_for(50ms);
    }
    return !demo.running();
  }

  fs::path base_;  // removed at the end; holds the data dirs and the demos' output
  fs::path dir_;
  ChildProcess demo_;
  ChildProcess second_;
};

// A tool that waits for demo.json to appear must never read the previous run's ports, pid and
// password; after the demo has stopped, demo.json is gone.
TEST_F(DemoDataDirTest, AReusedDataDirShowsNothingOfThePreviousRun) {
  const std::string stale = R"({"api":"https://127.0.0.1:1","pid":1})";
  fs::create_directories(dir_ / "broker");
  write_file(dir_ / "demo.json", stale);
  write_file(dir_ / "broker" / "mosquitto.pid", "stale");
  start(demo_, dir_, "demo.log");
  // The broker's log appears when the broker is started: by then both files must be gone.
  const fs::path broker_log = dir_ / "broker" / "mosquitto.log";
  for (int i = 0; i < 15000 && !fs::exists(broker_log) && demo_.running(); ++i) {
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(fs::exists(broker_log)) << read_file(base_ / "demo.log");
  EXPECT_NE(read_file(dir_ / "demo.json"), stale) << "the previous run's demo.json is shown";
  EXPECT_NE(read_file(dir_ / "broker" / "mosquitto.pid"), "stale");

  const auto info = wait_ready(demo_, dir_, "demo.log");
  ASSERT_FALSE(info.empty());
  EXPECT_NE(info.at("api").as_string(), "https://127.0.0.1:1");
  ::kill(demo_.pid(), SIGTERM);
  ASSERT_TRUE(exits_within(demo_, 30s));
  EXPECT_EQ(demo_.exit_code(), 0);
  EXPECT_FALSE(fs::exists(dir_ / "demo.json")) << "demo.json outlives the demo";
}

// CASTELLAN_* variables override a config (contract §1); the demo's children must use the
// one it generated, not a production data dir, a wrong ops port or a key that does not exist.
TEST_F(DemoDataDirTest, TheChildrenDoNotSeeTheCallersCastellanVariables) {
  const fs::path production = base_ / "production";
  devices::testing::HeldPort taken;
  start(demo_, dir_, "demo.log",
        {"CASTELLAN_SERVER_DATA_DIR=" + production.string(),
         "CASTELLAN_OPS_LISTEN=127.0.0.1:" + std::to_string(taken.port()),
         "CASTELLAN_NO_SUCH_KEY=1", "DEMO_TEST_KEPT=yes"});
  const auto info = wait_ready(demo_, dir_, "demo.log");
  ASSERT_FALSE(info.empty());
  EXPECT_FALSE(fs::exists(production)) << "the demo's server used the caller's data dir";
  const auto server_env = environment_of(static_cast<pid_t>(info.at("pid").as_int64()));
  for (const auto& entry : server_env) EXPECT_NE(entry.rfind("CASTELLAN_", 0), 0u) << entry;
  EXPECT_NE(std::find(server_env.begin(), server_env.end(), "DEMO_TEST_KEPT=yes"), server_env.end())
      << "the rest of the environment is kept";
}

// A setting meant for the demo's server is given by name with --set (load scripts turn the
// per-door swipe limit off this way); a name that is no configuration key stops the demo.
TEST_F(DemoDataDirTest, ASettingGivenWithSetReachesTheServerAndAnUnknownKeyIsRefused) {
  start(demo_, dir_, "demo.log", {}, {"--set", "decision.door_swipes_per_s=0"});
  const auto info = wait_ready(demo_, dir_, "demo.log");
  ASSERT_FALSE(info.empty());
  const auto server_env = environment_of(static_cast<pid_t>(info.at("pid").as_int64()));
  EXPECT_NE(
      std::find(server_env.begin(), server_env.end(), "CASTELLAN_DECISION_DOOR_SWIPES_PER_S=0"),
      server_env.end());
  ::kill(demo_.pid(), SIGTERM);
  ASSERT_TRUE(exits_within(demo_, 30s));

  start(second_, base_ / "other", "bad.log", {}, {"--set", "decision.no_such_key=1"});
  ASSERT_TRUE(exits_within(second_, 30s));
  EXPECT_EQ(second_.exit_code(), 1);
  EXPECT_NE(read_file(base_ / "bad.log").find("--set decision.no_such_key=1: expected KEY=VALUE"),
            std::string::npos)
      << read_file(base_ / "bad.log");
}

// The second demo on a dir exits 1 before it touches a file of the first; the lock is the
// demo's alone (no child holds it) and is released when the demo exits.
TEST_F(DemoDataDirTest, ASecondDemoOnTheSameDirIsRefusedBeforeItChangesAnything) {
  start(demo_, dir_, "first.log");
  const auto info = wait_ready(demo_, dir_, "first.log");
  ASSERT_FALSE(info.empty());
  const std::vector<fs::path> files{dir_ / "demo.json",      dir_ / "broker" / "passwd",
                                    dir_ / "broker" / "acl", dir_ / "door-keys.json",
                                    dir_ / "mqtt-password",  dir_ / "broker" / "mosquitto.pid",
                                    dir_ / "castellan.toml", dir_ / "sim-credentials.json"};
  std::map<fs::path, std::string> before;
  for (const auto& f : files) before[f] = read_file(f);

  start(second_, dir_, "second.log");
  ASSERT_TRUE(exits_within(second_, 30s)) << "the second demo runs";
  EXPECT_EQ(second_.exit_code(), 1);
  const std::string said = read_file(base_ / "second.log");
  EXPECT_NE(said.find("another castellan demo is running on " + dir_.string()), std::string::npos)
      << said;
  for (const auto& f : files) EXPECT_EQ(read_file(f), before[f]) << f << " was changed";
  EXPECT_TRUE(demo_.running());

  const auto server_pid = static_cast<pid_t>(info.at("pid").as_int64());
  pid_t broker_pid = 0;
  std::ifstream(dir_ / "broker" / "mosquitto.pid") >> broker_pid;
  for (pid_t child : {server_pid, broker_pid}) {
    EXPECT_FALSE(has_open(child, dir_ / "demo.lock")) << "child " << child << " holds the lock";
  }

  // Killed outright, the demo cleans nothing up: the lock goes with the process all the same.
  ::kill(demo_.pid(), SIGKILL);
  ASSERT_TRUE(exits_within(demo_, 10s));
  for (int i = 0; i < 300 && (process_alive(server_pid) || process_alive(broker_pid)); ++i) {
    std::this_thread::sleep_for(100ms);
  }
  for (pid_t child : {server_pid, broker_pid}) {
    EXPECT_FALSE(process_alive(child)) << "child " << child << " outlived the killed demo";
    if (process_alive(child)) ::kill(child, SIGKILL);
  }
  fs::remove(dir_ / "demo.json");  // the killed run's, so that the next one is waited for
  start(second_, dir_, "third.log");
  const auto third = wait_ready(second_, dir_, "third.log");
  ASSERT_FALSE(third.empty());
  EXPECT_NE(third.at("pid").as_int64(), server_pid);
}

TEST_F(DemoDataDirTest, ADataDirWithQuotesAndABackslashInItsNameWorks) {
  const fs::path odd = base_ / R"(demo "q" \ 'x')";
  start(demo_, odd, "demo.log");
  ASSERT_FALSE(wait_ready(demo_, odd, "demo.log").empty());
  auto config = load_config((odd / "castellan.toml").string(), {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server.data_dir, odd.string());
  EXPECT_EQ(config->mqtt.password_file, (odd / "mqtt-password").string());
}

}  // namespace
}  // namespace castellan::app
