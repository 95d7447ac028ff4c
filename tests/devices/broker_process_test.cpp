// BrokerProcess: starts a real mosquitto, reports failures with the log tail, restarts on the
// same port after a crash, and leaves no process behind.
#include "devices/broker_process.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker_fixture.hpp"
#include "held_port.hpp"

namespace castellan::devices {
namespace {

using testing::HeldPort;
using testing::unique_temp_dir;

// Alive and not a zombie: an orphaned broker that died stays a zombie until the container's
// init reaps it, which some CI containers do late or never.
bool process_exists(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto state = stat.rfind(") ");
  return state == std::string::npos || stat.compare(state + 2, 1, "Z") != 0;
}

class BrokerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = unique_temp_dir("bp"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(BrokerProcessTest, WritesConfigStartsAndStopsWithoutLeftovers) {
  pid_t pid = -1;
  {
    BrokerProcess broker(BrokerOptions{.dir = dir_});
    auto r = broker.start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    pid = broker.pid();
    EXPECT_GT(broker.port(), 0);
    EXPECT_TRUE(process_exists(pid));
    std::ifstream conf(broker.config_file());
    std::stringstream text;
    text << conf.rdbuf();
    for (const char* line :
         {"allow_anonymous false", "set_tcp_nodelay true", "log_dest stderr", "persistence false",
          "password_file ", "acl_file ", "user ", "message_size_limit 262144"}) {
      EXPECT_NE(text.str().find(line), std::string::npos) << line;
    }
    EXPECT_NE(text.str().find("listener " + std::to_string(broker.port()) + " 127.0.0.1"),
              std::string::npos);
    EXPECT_TRUE(broker.reload().ok());
  }  // destructor stops and reaps
  EXPECT_FALSE(process_exists(pid)) << "the broker (or its zombie) outlived BrokerProcess";
}

TEST_F(BrokerProcessTest, RestartsOnTheSamePortAfterACrash) {
  BrokerProcess broker(BrokerOptions{.dir = dir_});
  ASSERT_TRUE(broker.start().ok());
  const int port = broker.port();
  const pid_t first = broker.pid();
  broker.kill();
  EXPECT_FALSE(broker.running());
  EXPECT_FALSE(process_exists(first));
  EXPECT_FALSE(broker.reload().ok());
  auto r = broker.start();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(broker.port(), port);
  EXPECT_NE(broker.pid(), first);
  broker.stop();
  broker.stop();  // idempotent
  EXPECT_FALSE(broker.running());
}

TEST_F(BrokerProcessTest, MissingExecutableIsAClearError) {
  BrokerProcess broker(BrokerOptions{.dir = dir_, .mosquitto_path = "/nonexistent/mosquitto"});
  auto r = broker.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/mosquitto"), std::string::npos)
      << r.error().message;
}

TEST_F(BrokerProcessTest, PortTakenByAnotherProcessFailsWithTheLogTail) {
  // Hold a listening socket on a port, then ask for exactly that port.
  HeldPort taken;
  ASSERT_NE(taken.port(), 0);
  const int port = taken.port();

  BrokerProcess broker(
      BrokerOptions{.dir = dir_, .port = port, .start_timeout = std::chrono::milliseconds(1500)});
  auto r = broker.start();
  taken.release();
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(broker.running());
  EXPECT_NE(r.error().message.find("Address already in use"), std::string::npos)
      << r.error().message;
}

TEST_F(BrokerProcessTest, BrokerDoesNotInheritABlockedSignalMask) {
  // `castellan demo` blocks SIGTERM/SIGINT to sigwait for them; the broker must still obey
  // SIGTERM (stop) and SIGHUP (reload).
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&block, sig);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  BrokerProcess broker(BrokerOptions{.dir = dir_});
  auto r = broker.start();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(broker.reload().ok());
  bool reloaded = false;
  for (int i = 0; i < 500 && !reloaded; ++i) {
    reloaded = broker.log_tail(100000).find("Reloading config") != std::string::npos;
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(reloaded) << "SIGHUP did not reach the broker:\n" << broker.log_tail();
  broker.stop();
  // "terminating" is logged on SIGTERM; a broker that ignored it would have been SIGKILLed.
  EXPECT_NE(broker.log_tail(100000).find("terminating"), std::string::npos) << broker.log_tail();
}

TEST_F(BrokerProcessTest, BrokerDiesWithAProcessThatCrashed) {
  // A child process starts a broker and exits without running any destructor (as a crashed
  // test or a kill -9 of `castellan demo` would): the broker must not live on.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto* broker = new BrokerProcess(BrokerOptions{.dir = dir_});  // never destroyed
    pid_t pid = broker->start().ok() ? broker->pid() : -1;
    if (::write(fds[1], &pid, sizeof pid) != sizeof pid) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t broker_pid = -1;
  ASSERT_EQ(::read(fds[0], &broker_pid, sizeof broker_pid),
            static_cast<ssize_t>(sizeof broker_pid));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_GT(broker_pid, 0);
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; ++i) {
    gone = !process_exists(broker_pid);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "broker " << broker_pid << " outlived the process that started it";
  if (!gone) ::kill(broker_pid, SIGKILL);
}

TEST(PickFreeLoopbackPort, ReturnsABindablePort) {
  auto p = pick_free_loopback_port();
  ASSERT_TRUE(p.ok());
  EXPECT_GT(*p, 0);
  EXPECT_LT(*p, 65536);
}

}  // namespace
}  // namespace castellan::devices
