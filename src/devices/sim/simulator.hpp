// Simulator: N door controllers and M sensors speaking contract §3 to a real broker.
//
// Each device is its own MQTT client with its own will (`offline` on devices/{id}/status)
// and credentials, as long as there are at most `max_clients` devices; beyond that, devices
// are spread over `max_clients` shared connections (no will then: a connection has one).
// Swipes go out at `rate` per second round-robin over the doors, with the configured mix.
// Every decision is checked like a controller would: the signature with the door key, `exp`
// not past and at most 10 s ahead; rejects are counted, not obeyed. Each door runs a small
// state model: a grant unlocks and opens it, then closes and relocks; a share of grants is
// held open too long, and now and then a locked door is forced open (alarms for castellan).
// Heartbeats every heartbeat_interval, telemetry from sensors every telemetry_interval.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "devices/mqtt_client.hpp"
#include "devices/sim/event_scheduler.hpp"
#include "devices/sim/sim_options.hpp"
#include "devices/sim/sim_report.hpp"
#include "devices/sim/swipe_payloads.hpp"

namespace castellan::devices::sim {

class Simulator {
 public:
  explicit Simulator(SimOptions options, const Clock& clock = SystemClock::instance());
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Connects every device (failing with the broker's reason after `connect_timeout`), publishes
  // each door's initial state and a first heartbeat, then starts swiping.
  Result<void> start(std::chrono::milliseconds connect_timeout = std::chrono::seconds(10));
  // Stops swiping, waits up to answer_timeout for outstanding decisions (the rest count as
  // unanswered), closes and relocks every door still in a grant or forced-open sequence,
  // publishes `offline` for each device and disconnects. Idempotent.
  void stop();
  SimReport report() const;
  // True while swipes are still being sent (false once `duration` has passed).
  bool swiping() const { return swiping_.load(); }

  // The door ids and device ids in use (door i is controlled by controllers()[i]).
  const std::vector<std::string>& doors() const { return door_ids_; }
  const std::vector<std::string>& controllers() const { return controller_ids_; }
  const std::vector<std::string>& sensors() const { return sensor_ids_; }

 private:
  struct Pending {
    Clock::Monotonic sent;
    SwipeKind kind;
    std::size_t door = 0;  // the answer must come on this door's topic
    bool answered = false;
    bool timed_out = false;  // counted unanswered; moved to expired_ after 3x answer_timeout
  };
  struct DoorModel {
    bool locked = true;
    bool open = false;
    bool beam_blocked = false;
    bool busy = false;  // a grant or forced-open sequence is running
  };
  struct Counters {
    std::atomic<std::uint64_t> sent{0}, expecting_reply{0}, answered{0}, rejected_signature{0},
        rejected_stale{0}, unverified{0}, unanswered{0}, late{0}, duplicate{0}, stray{0},
        unexpected_code{0}, replies_to_no_req{0}, publish_failed{0}, heartbeats{0}, telemetry{0},
        state_changes{0}, forced_open{0}, held_open{0}, commands{0}, commands_rejected{0};
    std::array<std::atomic<std::uint64_t>, kSwipeKinds> by_kind{};
  };

  Result<void> connect_devices(std::chrono::milliseconds timeout);
  MqttClient& client_of(const std::string& device_id);
  void publish(const std::string& device_id, const std::string& topic, const std::string& payload);
  void pace_swipes();
  void send_swipe(std::size_t door_index);
  void on_message(std::string_view topic, std::string_view payload);
  void on_decision(const std::string& door, std::string_view payload);
  void on_command(const std::string& door, std::string_view payload);
  // door behaviour (sim_doors.cpp)
  void schedule_device_traffic();
  void heartbeat(std::size_t device_index);
  void send_telemetry(std::size_t sensor_index);
  void publish_door_state(std::size_t door_index);
  void run_grant_sequence(std::size_t door_index, std::int64_t unlock_ms);
  void maybe_force_open();
  void sweep_unanswered();
  std::string topic(std::string_view kind, std::string_view entity, std::string_view leaf) const;
  std::string now_text() const;

  SimOptions options_;
  const Clock& clock_;
  std::string run_id_;
  std::vector<std::string> door_ids_, controller_ids_, sensor_ids_, all_devices_;
  std::unordered_map<std::string, std::size_t> door_index_;
  std::vector<std::unique_ptr<MqttClient>> clients_;
  std::unordered_map<std::string, MqttClient*> client_by_device_;

  std::mutex doors_mu_;
  std::vector<DoorModel> door_models_;
  mutable std::mutex pending_mu_;
  std::unordered_map<std::string, Pending> pending_;
  // Swipes erased from pending_ without an answer: an answer to one is late, not a stray.
  std::unordered_set<std::string> expired_;
  std::map<std::int32_t, std::uint64_t> codes_;  // answered decisions by code
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  std::unique_ptr<SwipeGenerator> generator_;  // pacer thread only

  Counters counters_;
  LatencyRecorder rtt_;
  EventScheduler scheduler_;
  std::thread pacer_;
  std::atomic<bool> swiping_{false};
  bool started_ = false;
  bool stopped_ = false;
  Clock::Monotonic started_at_{};
  std::atomic<std::int64_t> elapsed_us_at_stop_{-1};
};

}  // namespace castellan::devices::sim
