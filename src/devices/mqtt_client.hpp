// MqttClient: one MQTT 3.1.1 connection on libmosquitto, RAII.
//
// - QoS 1 by default; TCP_NODELAY on every connection (Nagle adds ~22 ms per round trip on
//   loopback, see docs/architecture.md).
// - Reconnects on its own with jittered exponential backoff (reconnect_min .. reconnect_max,
//   "equal jitter": half the delay fixed, half random) and re-subscribes every remembered
//   subscription after each (re)connect.
// - Threads: the client owns one network thread that runs mosquitto_loop() and the reconnect
//   policy (libmosquitto's own mosquitto_loop_start() thread only knows whole-second,
//   un-jittered delays and gives up for good on an auth error; see docs/architecture.md). Callbacks
//   (message, state) run on that thread: keep them short and never block in them.
//   publish()/subscribe() are thread-safe and may be called from any thread, including from inside
//   a callback.
// - publish() fails at once with ERR_UNAVAILABLE while the client is not connected; it never
//   queues for later (the caller decides what an unsent message means).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace castellan::runtime {
class TaskRegistry;
}

namespace castellan::devices {

struct MqttWill {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
};

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // empty: a random id
  std::string username;   // empty: anonymous
  std::string password;
  int keepalive_s = 10;
  std::string tls_ca;  // non-empty: TLS 1.3 only, server certificate verified against this CA
  std::optional<MqttWill> will;
  bool clean_session = true;
  int max_inflight = 1000;  // QoS 1 messages in flight before libmosquitto queues locally
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Where the network thread registers as a daemon task (runtime/thread_task.hpp). Null: none.
  runtime::TaskRegistry* tasks = nullptr;
};

struct MqttStats {
  std::uint64_t published = 0;       // publish() calls handed to the library
  std::uint64_t publish_failed = 0;  // publish() calls refused (not connected, bad topic, ...)
  std::uint64_t received = 0;        // messages delivered to the message handler
  std::uint64_t connects = 0;        // successful CONNACKs, the first one included
  std::uint64_t reconnects = 0;      // successful CONNACKs after the first
  std::uint64_t disconnects = 0;     // connection losses seen
  std::uint64_t subacks = 0;         // SUBACKs received (re-subscriptions included)
};

class MqttClient {
 public:
  // `retained`: the broker replayed a retained message on subscribing, not a live publish.
  using MessageHandler =
      std::function<void(std::string_view topic, std::string_view payload, bool retained)>;
  // connected == false carries a human reason: "disconnected" after this client's own stop(),
  // otherwise "connection lost", "the broker refused the connection: not authorised", "cannot
  // connect to HOST:PORT: Connection refused", ... A connection attempt that fails is reported
  // once per reason, not at every retry.
  using StateHandler = std::function<void(bool connected, std::string_view reason)>;

  explicit MqttClient(MqttOptions options);
  ~MqttClient();  // stop()
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Set the handlers before start().
  void on_message(MessageHandler handler);
  void on_state(StateHandler handler);

  // Starts the network thread, which connects and keeps reconnecting until stop(). Fails only
  // on options libmosquitto rejects (bad TLS file, bad will topic, ...); an unreachable broker
  // is not an error here: the client keeps trying (see wait_connected()).
  Result<void> start();
  // The first step of a graceful stop: from now on nothing more is read (no message handler
  // call after this returns true), while publishes still go out. Messages the broker sends
  // meanwhile stay unacknowledged, so it delivers them again to the session's next connection
  // (a persistent session: clean_session false). No reconnect while paused. False when the
  // network thread did not confirm within `timeout` (it is then at most in one last read).
  bool pause_receiving(std::chrono::milliseconds timeout);
  // Sends DISCONNECT when connected and joins the network thread. Idempotent.
  void stop();
  // Drops the TCP connection without DISCONNECT, as a crashed device would: the broker then
  // publishes the will. Joins the network thread; the client stays stopped.
  void stop_abruptly();

  // Remembers the subscription (re-sent on every reconnect) and sends it now if connected.
  Result<void> subscribe(const std::string& topic_filter, int qos = 1);

  Result<void> publish(std::string_view topic, std::string_view payload, int qos = 1,
                       bool retain = false);

  bool connected() const;
  // The broker's numeric address on the current (or last) connection; "" before the first.
  std::string broker_ip() const;
  // Waits until connected (true) or `timeout` passes (false).
  bool wait_connected(std::chrono::milliseconds timeout) const;
  // Waits until at least `count` SUBACKs arrived since start() (true) or `timeout` passes.
  bool wait_subacks(std::uint64_t count, std::chrono::milliseconds timeout) const;

  MqttStats stats() const;
  const MqttOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Host and port from "HOST:PORT" (port 1..65535); a clear error otherwise.
Result<std::pair<std::string, int>> parse_host_port(std::string_view text);

}  // namespace castellan::devices
