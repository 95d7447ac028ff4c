// MQTT over TLS against real TLS endpoints: a mosquitto whose listener speaks TLS 1.3, and an
// `openssl s_server` that speaks only TLS 1.2 (mosquitto 2.0 cannot be held to a maximum
// version). The certificates are made with the openssl command (Debian package `openssl`).
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker_fixture.hpp"
#include "core/subprocess.hpp"
#include "devices/mqtt_client.hpp"
#include "held_port.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A self-signed EC certificate for 127.0.0.1 (its own CA) in `dir`: NAME.pem and NAME.key.
void make_certificate(const std::string& dir, const std::string& name) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      dir + "/" + name + ".key -out " + dir + "/" + name + ".pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// A child process (mosquitto, or a shell running openssl) in a process group of its own,
// stopped and reaped when the test ends.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& output) {
    auto pid = spawn_supervised(argv, output);
    EXPECT_TRUE(pid.ok());
    if (pid.ok()) pid_ = *pid;
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);  // its process group: a shell's pipeline too
    ::waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

 private:
  pid_t pid_ = -1;
};

// Waits until something accepts TCP connections on 127.0.0.1:port.
bool wait_listening(int port) {
  for (int i = 0; i < 250; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool wait_for_text(const std::string& path, const std::string& text) {
  for (int i = 0; i < 250; ++i) {
    if (slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class MqttTls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    make_certificate(dir_, "server");
    make_certificate(dir_, "stranger");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  MqttOptions options(int port, const std::string& ca) const {
    MqttOptions o;
    o.port = port;
    o.client_id = "tls-probe";
    o.username = "tls-user";
    o.password = "tls-password-never-sent";
    o.tls_ca = ca;
    o.reconnect_min = 50ms;
    o.reconnect_max = 200ms;
    return o;
  }

  const std::string dir_ = testing::unique_temp_dir("mqtt-tls");
};

TEST_F(MqttTls, ConnectsToATls13BrokerWhoseCertificateItsCaSigned) {
  testing::HeldPort free_port;
  const int port = free_port.port();
  free_port.release();
  std::ofstream(dir_ + "/mosquitto.conf")
      << "listener " << port << " 127.0.0.1\nallow_anonymous true\ncertfile " << dir_
      << "/server.pem\nkeyfile " << dir_ << "/server.key\ntls_version tlsv1.3\n"
      << "persistence false\nlog_dest stderr\n"
      // As root, mosquitto would drop to the `mosquitto` user, which cannot read the key.
      << "user " << ::getpwuid(::geteuid())->pw_name << "\n";
  Child broker({"/usr/sbin/mosquitto", "-c", dir_ + "/mosquitto.conf"}, dir_ + "/broker.log");
  ASSERT_TRUE(wait_listening(port)) << slurp(dir_ + "/broker.log");

  MqttClient trusted(options(port, dir_ + "/server.pem"));
  ASSERT_TRUE(trusted.start().ok());
  EXPECT_TRUE(trusted.wait_connected(10s)) << slurp(dir_ + "/broker.log");

  // A CA that did not sign the broker's certificate: the handshake fails, nothing connects.
  MqttClient untrusting(options(port, dir_ + "/stranger.pem"));
  ASSERT_TRUE(untrusting.start().ok());
  EXPECT_FALSE(untrusting.wait_connected(2s));
}

TEST_F(MqttTls, NeverSendsItsCredentialsOverTls12) {
  testing::HeldPort free_port;
  const int port = free_port.port();
  free_port.release();
  // s_server prints what the client sends once a handshake succeeds: an MQTT CONNECT would
  // show the client id and the password.
  // Its stdin must stay open: at end of input s_server stops serving.
  Child server(
      {"/bin/sh", "-c",
       "sleep 60 | exec /usr/bin/openssl s_server -tls1_2 -accept " + std::to_string(port) +
           " -cert " + dir_ + "/server.pem -key " + dir_ + "/server.key"},
      dir_ + "/s_server.log");
  // Not wait_listening(): s_server stops after a connection that never shakes hands.
  ASSERT_TRUE(wait_for_text(dir_ + "/s_server.log", "ACCEPT")) << slurp(dir_ + "/s_server.log");

  MqttClient client(options(port, dir_ + "/server.pem"));
  ASSERT_TRUE(client.start().ok());
  // The client did reach s_server, which refused its TLS 1.3-only hello.
  EXPECT_TRUE(wait_for_text(dir_ + "/s_server.log", "unsupported protocol"))
      << slurp(dir_ + "/s_server.log");
  EXPECT_FALSE(client.connected());
  client.stop();
  const std::string seen = slurp(dir_ + "/s_server.log");
  EXPECT_EQ(seen.find("tls-password-never-sent"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("tls-probe"), std::string::npos) << seen;
}

}  // namespace
}  // namespace castellan::devices
