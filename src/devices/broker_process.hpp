// BrokerProcess: a private mosquitto 2.0 child process on a loopback port, for integration
// tests and `castellan demo`.
//
// start() writes DIR/mosquitto.conf (listener on 127.0.0.1, no anonymous access, password
// file + ACL in DIR, TCP_NODELAY, no persistence, log to stderr -> DIR/mosquitto.log), starts
// `mosquitto -c DIR/mosquitto.conf` and returns once the port accepts connections. The config
// sets `user <our own user name>`: mosquitto started as root otherwise drops to the user
// `mosquitto`, which cannot read our 0600 files in a 0700 directory. Running as a non-root
// user, the option has no effect.
//
// The broker gets SIGTERM when the thread that called start() ends (PR_SET_PDEATHSIG), so a
// crashed parent leaves no broker behind: call start() from a thread that lives as long as
// the broker should (the main thread in tests and `castellan demo`).
//
// The destructor stops the broker (SIGTERM, then SIGKILL after stop_timeout) and reaps it: no
// zombie and no process left behind. After kill() or stop(), start() again reuses the same
// port (a "broker crashed and came back" test).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace castellan::devices {

struct BrokerOptions {
  std::string dir;  // created (mode 0700) if missing; holds config, password file, ACL, log
  int port = 0;     // 0: pick a free loopback port at the first start
  std::string mosquitto_path = "mosquitto";  // looked up in PATH when it has no '/'
  std::chrono::milliseconds start_timeout{5000};
  std::chrono::milliseconds stop_timeout{3000};
  int max_queued_messages = 100000;  // per client; mosquitto's default of 1000 drops at high rates
  int max_inflight_messages = 1000;  // per client, QoS 1 in flight from the broker
};

class BrokerProcess {
 public:
  // The broker's message_size_limit: larger publishes are dropped by the broker.
  static constexpr int kMessageSizeLimit = 256 * 1024;

  explicit BrokerProcess(BrokerOptions options, const Clock& clock = SystemClock::instance());
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // Writes the config (and empty password/ACL files if they do not exist yet), starts the
  // broker and waits until it accepts connections. The error names the reason and carries the
  // tail of the broker log.
  Result<void> start();
  // SIGHUP: the broker re-reads the password file and ACL (after BrokerAccounts changed them).
  Result<void> reload();
  // SIGTERM, SIGKILL after stop_timeout, reap. Idempotent.
  void stop();
  // SIGKILL and reap at once: simulates a crash.
  void kill();

  bool running() const { return pid_ > 0; }
  // True once the broker process is gone (reaps it): it exited, crashed or was never started.
  bool exited();
  pid_t pid() const { return pid_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }

  std::string config_file() const { return options_.dir + "/mosquitto.conf"; }
  std::string password_file() const { return options_.dir + "/passwd"; }
  std::string acl_file() const { return options_.dir + "/acl"; }
  std::string log_file() const { return options_.dir + "/mosquitto.log"; }
  // The last `max_bytes` of the broker log (for error messages).
  std::string log_tail(std::size_t max_bytes = 2000) const;

 private:
  Result<void> write_config();
  Result<void> spawn();
  bool wait_until_accepting();
  void reap(std::chrono::milliseconds timeout);

  BrokerOptions options_;
  const Clock& clock_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
};

// A currently free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
Result<int> pick_free_loopback_port();

}  // namespace castellan::devices
