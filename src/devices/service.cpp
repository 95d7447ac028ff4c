#include "devices/service.hpp"

#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.hpp"
#include "devices/journal_records.hpp"
#include "devices/topics.hpp"

namespace castellan::devices {
namespace asio = boost::asio;

namespace {

HeartbeatOptions heartbeat_options(const Config& config) {
  HeartbeatOptions o;
  o.offline_after = std::chrono::milliseconds{config.devices.offline_after_ms};
  return o;
}

SwipeOptions swipe_options(const Config& config) {
  SwipeOptions o;
  o.decision_timeout = std::chrono::milliseconds{config.decision.timeout_ms};
  o.dedupe_window = std::chrono::seconds{config.decision.dedupe_window_s};
  o.signature_ttl = std::chrono::seconds{std::min(config.decision.signature_ttl_s, 10)};
  o.max_swipe_age = std::chrono::milliseconds{std::max(config.decision.max_swipe_age_ms, 0)};
  o.door_swipes_per_s = std::max(config.decision.door_swipes_per_s, 0);
  return o;
}

}  // namespace

DeviceService::DeviceService(const Clock& clock, const Config& config, const DoorDirectory& doors,
                             access::DecisionEngine& engine, std::string card_secret,
                             JournalSink& journal, Publisher& publisher,
                             runtime::MetricsRegistry& metrics)
    : journal_(journal),
      metrics_(metrics),
      heartbeats_(clock, heartbeat_options(config),
                  [this, &journal](const DeviceTransition& t) {
                    append_logged(journal, device_transition_record(t));
                    // Runs under the monitor's lock: read the count without re-locking.
                    metrics_.devices_online(t.online ? ++online_shadow_ : --online_shadow_);
                  }),
      door_states_(clock, journal),
      swipes_(clock, swipe_options(config), doors, engine, std::move(card_secret), journal,
              publisher, door_states_, metrics_),
      bridge_(clock, kDefaultMaxPayloadBytes, doors, swipes_, door_states_, heartbeats_, telemetry_,
              metrics_),
      commander_(clock, doors, journal, publisher, door_states_,
                 std::chrono::seconds{std::min(config.decision.signature_ttl_s, 10)}) {}

DeviceService::~DeviceService() = default;

Result<void> DeviceService::attach(MqttClient& client) {
  // Without these lines a wrong broker address or password would show only in /readyz. Losing
  // the broker degrades the service (no swipe reaches it): the journal says when that began
  // and ended, once per outage (contract §5, `resilience`). Called on the network thread only.
  client.on_state([this](bool connected, std::string_view reason) {
    if (connected) {
      spdlog::info("MQTT broker connection up");
      if (broker_down_) append_logged(journal_, degradation_record("broker", false, ""));
      broker_down_ = false;
    } else if (reason == "disconnected") {  // our own DISCONNECT, at shutdown: no retry follows
      spdlog::info("MQTT broker connection closed");
    } else {
      spdlog::warn("MQTT broker connection down: {}; retrying", reason);
      if (!broker_down_) append_logged(journal_, degradation_record("broker", true, reason));
      broker_down_ = true;
    }
  });
  client.on_message([this](std::string_view topic, std::string_view payload, bool retained) {
    bridge_.on_message(topic, payload, retained);
  });
  for (const auto& filter : incoming_subscriptions()) {
    if (auto r = client.subscribe(filter, 1); !r) return r;
  }
  return {};
}

bool DeviceService::drain(MqttClient& client, std::chrono::milliseconds timeout) {
  if (!client.pause_receiving(timeout)) {
    spdlog::warn("MQTT client did not stop reading within {} ms", timeout.count());
  }
  // Counted in sleeps, not read from a clock: this waits for the journal and the ticker in
  // real time, whatever clock the service was given.
  constexpr auto kStep = std::chrono::milliseconds(5);
  for (auto waited = std::chrono::milliseconds(0); swipes_.unanswered() > 0 && waited < timeout;
       waited += kStep) {
    std::this_thread::sleep_for(kStep);
  }
  const std::size_t left = swipes_.unanswered();
  if (left > 0) spdlog::warn("{} swipe(s) still unanswered at shutdown", left);
  return left == 0;
}

void DeviceService::tick() {
  swipes_.expire_overdue();
  heartbeats_.tick();
  door_states_.tick();
}

void DeviceService::start(runtime::TaskGroup& group, const asio::any_io_executor& executor) {
  // The awaitable overload: with g++ 12 the TaskRef overload (TaskGroup::Body) trips ASan
  // (stack-buffer-overflow reading the TaskRef temporary inside run_child's co_await), so
  // the ticker does without WaitMarkers; it only ever waits on its own 20 ms timer.
  group.spawn(executor, "devices ticker", run_ticker(), runtime::TaskOptions{.daemon = true});
}

asio::awaitable<void> DeviceService::run_ticker() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(kTickInterval);
    co_await timer.async_wait(asio::use_awaitable);
    tick();
  }
}

MqttOptions service_mqtt_options(const Config& config, std::string password) {
  MqttOptions o;
  o.host = config.mqtt.host;
  o.port = config.mqtt.port;
  o.client_id = config.mqtt.client_id;
  o.username = config.mqtt.username;
  o.password = std::move(password);
  o.keepalive_s = config.mqtt.keepalive_s;
  o.tls_ca = config.mqtt.tls_ca;
  o.clean_session = false;
  return o;
}

}  // namespace castellan::devices
