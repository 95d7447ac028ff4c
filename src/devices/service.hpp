// DeviceService: the device side wired together, for `castellan server` and the end-to-end
// tests. It owns the metrics, telemetry store, heartbeat monitor, door state tracker, swipe
// pipeline, bridge and commander, and one ticker task (every 20 ms: decision deadlines,
// de-duplication expiry, the heartbeat wheel, held-open checks).
//
// Wiring order:
//   DeviceService devices(clock, config, doors, engine, card_secret, journal, publisher, metrics);
//   devices.attach(mqtt_client);          // before mqtt_client.start(): handler + subscriptions
//   devices.start(task_group, executor);  // the ticker
// Shutdown order: stop the MQTT client, close the task group, then destroy the service. The
// journal must outlive nothing of ours: pending journal callbacks are ignored after the swipe
// pipeline is gone, but DoorCommander callbacks are not — close the API (no new commands) and
// the journal before destroying the service.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "access/engine.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "devices/bridge.hpp"
#include "devices/commands.hpp"
#include "devices/device_metrics.hpp"
#include "devices/door_state.hpp"
#include "devices/heartbeat_monitor.hpp"
#include "devices/mqtt_client.hpp"
#include "devices/ports.hpp"
#include "devices/swipe_pipeline.hpp"
#include "devices/telemetry.hpp"
#include "runtime/metrics.hpp"
#include "runtime/task_group.hpp"

namespace castellan::devices {

class DeviceService {
 public:
  DeviceService(const Clock& clock, const Config& config, const DoorDirectory& doors,
                access::DecisionEngine& engine, std::string card_secret, JournalSink& journal,
                Publisher& publisher, runtime::MetricsRegistry& metrics);
  ~DeviceService();

  // Installs the message handler and the five subscriptions on `client`.
  Result<void> attach(MqttClient& client);
  // Spawns the ticker (a daemon task) in `group`.
  void start(runtime::TaskGroup& group, const boost::asio::any_io_executor& executor);

  // The first step of a graceful shutdown, before `client` stops (the ticker still runs):
  // `client` stops reading (what arrives now stays with the broker for the next start), then
  // this waits until every swipe already taken is answered: journaled and published, or
  // answered at its deadline. False if some were still unanswered after `timeout`.
  bool drain(MqttClient& client, std::chrono::milliseconds timeout);

  // One step of everything time-driven (the ticker calls it; tests with a FakeClock too).
  void tick();

  void on_message(std::string_view topic, std::string_view payload, bool retained = false) {
    bridge_.on_message(topic, payload, retained);
  }

  SwipePipeline& swipes() { return swipes_; }
  HeartbeatMonitor& heartbeats() { return heartbeats_; }
  TelemetryStore& telemetry() { return telemetry_; }
  DoorStateTracker& door_states() { return door_states_; }
  DoorCommander& commander() { return commander_; }
  DeviceMetrics& metrics() { return metrics_; }

  static constexpr std::chrono::milliseconds kTickInterval{20};

 private:
  boost::asio::awaitable<void> run_ticker();

  JournalSink& journal_;
  bool broker_down_ = false;  // an outage is on record (the MQTT network thread's)
  DeviceMetrics metrics_;
  std::size_t online_shadow_ = 0;  // devices online, updated under the monitor's lock
  TelemetryStore telemetry_;
  HeartbeatMonitor heartbeats_;
  DoorStateTracker door_states_;
  SwipePipeline swipes_;
  DeviceBridge bridge_;
  DoorCommander commander_;
};

// The service's own MQTT session, from config [mqtt] and the broker password. The session is
// persistent (clean_session off, the fixed mqtt.client_id): while the service is away — a
// restart, a lost connection — the broker keeps the QoS 1 swipes, door states and alarms
// published for it and delivers them when it is back, so every swipe still gets its one
// decision (a late one 50401, see decision.max_swipe_age_ms) and no alarm goes unjournaled.
MqttOptions service_mqtt_options(const Config& config, std::string password);

}  // namespace castellan::devices
