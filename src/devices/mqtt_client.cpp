#include "devices/mqtt_client.hpp"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/thread_name.hpp"
#include "runtime/thread_task.hpp"

namespace castellan::devices {
namespace {

// mosquitto_lib_init() once per process; it is never undone (other clients may live on).
void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

// The numeric address of the socket's peer ("" when it cannot be read).
std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  const void* where = nullptr;
  if (addr.ss_family == AF_INET) where = &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr;
  if (addr.ss_family == AF_INET6) where = &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr;
  if (where == nullptr || ::inet_ntop(addr.ss_family, where, text, sizeof text) == nullptr)
    return {};
  return text;
}

Error mosq_error(std::string_view what, int rc) {
  return make_error(Code::ERR_UNAVAILABLE, std::string(what) + ": " + mosquitto_strerror(rc));
}

// How long one mosquitto_loop() call may wait for traffic: bounds how late the thread sees a
// stop request when nothing else wakes it.
constexpr int kLoopTimeoutMs = 100;

}  // namespace

struct MqttClient::Impl {
  explicit Impl(MqttOptions o) : opts(std::move(o)), rng(std::random_device{}()) {}

  MqttOptions opts;
  mosquitto* mosq = nullptr;
  MessageHandler message_handler;
  StateHandler state_handler;
  std::thread thread;

  mutable std::mutex mu;  // guards stopping/abrupt/broker_ip and signals cv
  mutable std::condition_variable cv;
  bool stopping = false;
  bool abrupt = false;
  bool paused = false;      // pause_receiving(): write only, read nothing more
  bool paused_ack = false;  // the network thread has seen `paused`
  std::string broker_ip;    // of the current or last connection
  std::atomic<bool> is_connected{false};
  bool connected_this_attempt = false;     // network thread only
  bool failure_said_this_attempt = false;  // network thread only
  std::string last_failure;                // network thread only: the last attempt's reason

  std::mutex subs_mu;
  std::vector<std::pair<std::string, int>> subscriptions;

  std::atomic<std::uint64_t> published{0}, publish_failed{0}, received{0}, connects{0},
      reconnects{0}, disconnects{0}, subacks{0};
  std::mt19937_64 rng;

  bool stop_requested() const {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Network thread: whether receiving is paused; the first time, tells pause_receiving().
  bool receiving_paused() {
    std::lock_guard lock(mu);
    if (paused && !paused_ack) {
      paused_ack = true;
      cv.notify_all();
    }
    return paused;
  }

  // While paused: send what is queued (decisions, the DISCONNECT), read nothing. What the
  // broker sends meanwhile stays unacknowledged, so the broker delivers it again to the
  // session's next connection.
  int write_only_step() {
    const int fd = mosquitto_socket(mosq);
    if (fd < 0) return MOSQ_ERR_NO_CONN;
    if (!mosquitto_want_write(mosq)) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(2), [this] { return stopping; });
      return MOSQ_ERR_SUCCESS;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 10) <= 0) return MOSQ_ERR_SUCCESS;
    return mosquitto_loop_write(mosq, 1);
  }

  void notify_state(bool up, std::string_view reason) {
    if (state_handler) state_handler(up, reason);
  }

  // A connection attempt that failed: said once per reason (the same broker down every 5 s
  // for an hour is one line), and again after a connection or when the reason changes.
  void notify_failed_attempt(const std::string& reason) {
    failure_said_this_attempt = true;
    if (reason == last_failure) return;
    last_failure = reason;
    notify_state(false, reason);
  }

  void handle_connect(int rc) {
    if (rc != 0) {
      notify_failed_attempt(std::string("the broker refused the connection: ") +
                            mosquitto_connack_string(rc));
      return;
    }
    last_failure.clear();
    if (connects.fetch_add(1) > 0) reconnects.fetch_add(1);
    connected_this_attempt = true;
    std::string ip = peer_address(mosquitto_socket(mosq));
    {
      // Re-subscribing and becoming "connected" are one step for subscribe(): a subscription
      // added meanwhile is either in this loop or sees the client connected and sends itself.
      std::lock_guard subs(subs_mu);
      for (const auto& [filter, qos] : subscriptions) {
        mosquitto_subscribe(mosq, nullptr, filter.c_str(), qos);
      }
      std::lock_guard lock(mu);
      broker_ip = std::move(ip);
      is_connected.store(true);
    }
    cv.notify_all();
    notify_state(true, "connected");
  }

  void handle_disconnect(int rc) {
    bool was = is_connected.exchange(false);
    if (!was) return;
    disconnects.fetch_add(1);
    notify_state(false, rc == 0 ? "disconnected" : "connection lost");
  }

  // Equal jitter: half of the delay is fixed, the other half random.
  std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    auto half = std::max<std::int64_t>(d.count() / 2, 1);
    std::uniform_int_distribution<std::int64_t> dist(0, half);
    return std::chrono::milliseconds{half + dist(rng)};
  }

  // The network thread: connect, run the loop until the connection ends, back off, repeat.
  void run(runtime::TaskRef self) {
    auto delay = opts.reconnect_min;
    bool first = true;
    while (!stop_requested()) {
      connected_this_attempt = false;
      failure_said_this_attempt = false;
      int rc = first ? mosquitto_connect_async(mosq, opts.host.c_str(), opts.port, opts.keepalive_s)
                     : mosquitto_reconnect_async(mosq);
      first = false;
      if (rc == MOSQ_ERR_SUCCESS) {
        while (!stop_requested()) {
          rc = receiving_paused() ? write_only_step() : mosquitto_loop(mosq, kLoopTimeoutMs, 1);
          if (rc != MOSQ_ERR_SUCCESS) break;
          self.progress();
        }
      }
      if (stop_requested()) break;
      const int saved_errno = errno;
      handle_disconnect(rc);
      if (!connected_this_attempt && !failure_said_this_attempt) {
        notify_failed_attempt(
            "cannot connect to " + opts.host + ":" + std::to_string(opts.port) + ": " +
            (rc == MOSQ_ERR_ERRNO ? std::strerror(saved_errno) : mosquitto_strerror(rc)));
      }
      if (connected_this_attempt) delay = opts.reconnect_min;
      std::unique_lock lock(mu);
      const runtime::WaitMarker backoff(self, "mqtt: reconnect backoff", runtime::WaitKind::kIdle);
      // Paused (shutting down): no reconnect, whose CONNACK would have to be read.
      cv.wait_for(lock, jittered(delay), [this] { return stopping || paused; });
      if (paused) {
        paused_ack = true;
        cv.notify_all();
        cv.wait(lock, [this] { return stopping; });
        break;
      }
      delay = std::min(delay * 2, opts.reconnect_max);
    }
    bool abruptly;
    {
      std::lock_guard lock(mu);
      abruptly = abrupt;
    }
    if (!abruptly && is_connected.load()) {
      // Flush the DISCONNECT queued by stop(); the library closes the socket after sending it.
      if (receiving_paused()) {
        for (int i = 0; i < 200 && is_connected.load() && write_only_step() == MOSQ_ERR_SUCCESS;
             ++i) {
        }
      } else {
        for (int i = 0; i < 20 && mosquitto_loop(mosq, kLoopTimeoutMs, 1) == MOSQ_ERR_SUCCESS;
             ++i) {
        }
      }
    }
    handle_disconnect(0);
  }
};

MqttClient::MqttClient(MqttOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  init_library_once();
}

MqttClient::~MqttClient() {
  stop();
  if (impl_->mosq) mosquitto_destroy(impl_->mosq);
}

void MqttClient::on_message(MessageHandler handler) {
  impl_->message_handler = std::move(handler);
}
void MqttClient::on_state(StateHandler handler) {
  impl_->state_handler = std::move(handler);
}

Result<void> MqttClient::start() {
  Impl& s = *impl_;
  if (s.mosq) return make_error(Code::ERR_CONFLICT, "MQTT client already started");
  if (s.opts.client_id.empty()) s.opts.client_id = "castellan-" + to_hex(random_bytes(6));
  s.mosq = mosquitto_new(s.opts.client_id.c_str(), s.opts.clean_session, &s);
  if (!s.mosq) return make_error(Code::ERR_INTERNAL, "mosquitto_new failed");
  mosquitto_threaded_set(s.mosq, true);  // our own thread runs the loop
  mosquitto_int_option(s.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_max_inflight_messages_set(s.mosq, static_cast<unsigned>(s.opts.max_inflight));
  if (!s.opts.username.empty()) {
    int rc = mosquitto_username_pw_set(s.mosq, s.opts.username.c_str(),
                                       s.opts.password.empty() ? nullptr : s.opts.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return mosq_error("MQTT username/password rejected", rc);
  }
  if (!s.opts.tls_ca.empty()) {
    int rc = mosquitto_tls_set(s.mosq, s.opts.tls_ca.c_str(), nullptr, nullptr, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return mosq_error("MQTT TLS CA file '" + s.opts.tls_ca + "'", rc);
    // TLS 1.3 only, as the API: left alone, libmosquitto 2.0 also speaks TLS 1.2 and would send
    // the CONNECT, password included, over it. The peer's certificate is verified (1).
    rc = mosquitto_tls_opts_set(s.mosq, 1, "tlsv1.3", nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return mosq_error("MQTT TLS version tlsv1.3", rc);
  }
  if (s.opts.will) {
    const MqttWill& w = *s.opts.will;
    int rc = mosquitto_will_set(s.mosq, w.topic.c_str(), static_cast<int>(w.payload.size()),
                                w.payload.data(), w.qos, w.retain);
    if (rc != MOSQ_ERR_SUCCESS) return mosq_error("MQTT will topic '" + w.topic + "'", rc);
  }
  mosquitto_connect_callback_set(
      s.mosq, [](mosquitto*, void* obj, int rc) { static_cast<Impl*>(obj)->handle_connect(rc); });
  mosquitto_disconnect_callback_set(s.mosq, [](mosquitto*, void* obj, int rc) {
    static_cast<Impl*>(obj)->handle_disconnect(rc);
  });
  mosquitto_subscribe_callback_set(s.mosq, [](mosquitto*, void* obj, int, int, const int*) {
    auto* impl = static_cast<Impl*>(obj);
    {
      std::lock_guard lock(impl->mu);
      impl->subacks.fetch_add(1);
    }
    impl->cv.notify_all();
  });
  mosquitto_message_callback_set(s.mosq, [](mosquitto*, void* obj, const mosquitto_message* m) {
    auto* impl = static_cast<Impl*>(obj);
    impl->received.fetch_add(1);
    if (!impl->message_handler) return;
    impl->message_handler(m->topic,
                          std::string_view(static_cast<const char*>(m->payload),
                                           static_cast<std::size_t>(std::max(m->payloadlen, 0))),
                          m->retain);
  });
  s.thread = std::thread([&s] {
    name_this_thread("mqtt");
    const runtime::ThreadTask task(s.opts.tasks, "mqtt network loop", "devices");
    s.run(task.ref());
  });
  return {};
}

void MqttClient::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping && !s.thread.joinable()) return;
    s.stopping = true;
  }
  s.cv.notify_all();
  if (s.mosq && s.is_connected.load()) mosquitto_disconnect(s.mosq);  // also wakes the loop
  if (s.thread.joinable()) s.thread.join();
}

bool MqttClient::pause_receiving(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  s.paused = true;
  s.cv.notify_all();
  if (!s.thread.joinable()) return true;  // never started: nothing is received
  return s.cv.wait_for(lock, timeout, [&s] { return s.paused_ack || s.stopping; });
}

void MqttClient::stop_abruptly() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    s.stopping = true;
    s.abrupt = true;
  }
  s.cv.notify_all();
  // shutdown() wakes the loop at once; the library closes the descriptor itself afterwards.
  if (s.mosq) {
    int fd = mosquitto_socket(s.mosq);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  if (s.thread.joinable()) s.thread.join();
}

Result<void> MqttClient::subscribe(const std::string& topic_filter, int qos) {
  Impl& s = *impl_;
  if (mosquitto_sub_topic_check(topic_filter.c_str()) != MOSQ_ERR_SUCCESS) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "not a valid MQTT topic filter: '" + topic_filter + "'");
  }
  // Under subs_mu, like the re-subscription on connect (see handle_connect).
  std::lock_guard lock(s.subs_mu);
  s.subscriptions.emplace_back(topic_filter, qos);
  if (s.mosq && s.is_connected.load()) {
    int rc = mosquitto_subscribe(s.mosq, nullptr, topic_filter.c_str(), qos);
    // A lost connection here is fine: the subscription is re-sent on reconnect.
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) return mosq_error("MQTT subscribe", rc);
  }
  return {};
}

Result<void> MqttClient::publish(std::string_view topic, std::string_view payload, int qos,
                                 bool retain) {
  Impl& s = *impl_;
  if (!s.mosq || !s.is_connected.load()) {
    s.publish_failed.fetch_add(1);
    return make_error(Code::ERR_UNAVAILABLE, "MQTT client is not connected to the broker");
  }
  std::string t(topic);
  int rc = mosquitto_publish(s.mosq, nullptr, t.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, retain);
  // At QoS 1 and 2 libmosquitto queues the message before it tries to send it, and re-sends
  // its queue after the next CONNACK (same handle, same session). So "no connection" here (the
  // connection was lost between our check and the send) is a late delivery, not a refusal: a
  // caller that undid its grant on it would open the door for free.
  if (rc == MOSQ_ERR_NO_CONN && qos > 0) {
    spdlog::debug("MQTT publish to '{}' queued: the connection was lost; sent on reconnect", t);
    rc = MOSQ_ERR_SUCCESS;
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    s.publish_failed.fetch_add(1);
    return mosq_error("MQTT publish to '" + t + "'", rc);
  }
  s.published.fetch_add(1);
  return {};
}

bool MqttClient::connected() const {
  return impl_->is_connected.load();
}

std::string MqttClient::broker_ip() const {
  std::lock_guard lock(impl_->mu);
  return impl_->broker_ip;
}

bool MqttClient::wait_connected(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [this] { return impl_->is_connected.load(); });
}

bool MqttClient::wait_subacks(std::uint64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->subacks.load() >= count; });
}

MqttStats MqttClient::stats() const {
  const Impl& s = *impl_;
  return MqttStats{s.published.load(), s.publish_failed.load(), s.received.load(),
                   s.connects.load(),  s.reconnects.load(),     s.disconnects.load(),
                   s.subacks.load()};
}

const MqttOptions& MqttClient::options() const {
  return impl_->opts;
}

Result<std::pair<std::string, int>> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(Code::ERR_BAD_REQUEST, "expected HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view port_text = text.substr(colon + 1);
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "port in '" + std::string(text) + "' is not a number");
    }
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "port in '" + std::string(text) + "' is outside 1..65535");
  }
  return std::pair<std::string, int>{std::string(text.substr(0, colon)), port};
}

}  // namespace castellan::devices
