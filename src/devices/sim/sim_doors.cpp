// The simulator's background device traffic: heartbeats, telemetry, door state sequences
// (grant, held open, forced open) and the unanswered-swipe sweep. All run on the scheduler
// thread, except run_grant_sequence's first step, which runs where the decision arrived.
#include <fmt/format.h>

#include "devices/sim/simulator.hpp"

namespace castellan::devices::sim {
namespace {
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;
constexpr milliseconds kTick{1000};
}  // namespace

void Simulator::schedule_device_traffic() {
  // Heartbeats and telemetry are spread evenly over their intervals (100,000 devices must not
  // all speak in the same millisecond).
  const auto devices = static_cast<std::int64_t>(std::max<std::size_t>(all_devices_.size(), 1));
  for (std::size_t i = 0; i < all_devices_.size(); ++i) {
    auto offset = duration_cast<microseconds>(options_.heartbeat_interval) *
                  static_cast<std::int64_t>(i) / devices;
    scheduler_.after(offset, [this, i] { heartbeat(i); });
  }
  const auto sensors = std::max<std::size_t>(sensor_ids_.size(), 1);
  for (std::size_t i = 0; i < sensor_ids_.size(); ++i) {
    auto offset = duration_cast<microseconds>(options_.telemetry_interval) *
                  static_cast<std::int64_t>(i) / static_cast<std::int64_t>(sensors);
    scheduler_.after(offset, [this, i] { send_telemetry(i); });
  }
  scheduler_.after(kTick, [this] { maybe_force_open(); });
  scheduler_.after(kTick, [this] { sweep_unanswered(); });
}

void Simulator::heartbeat(std::size_t i) {
  const std::string& id = all_devices_[i];
  auto uptime =
      duration_cast<std::chrono::seconds>(clock_.monotonic() - started_at_).count() + 3600;
  publish(id, topic("devices", id, "heartbeat"),
          fmt::format(R"({{"fw":"{}","uptime_s":{},"ts":"{}"}})", options_.fw, uptime, now_text()));
  counters_.heartbeats.fetch_add(1);
  scheduler_.after(duration_cast<microseconds>(options_.heartbeat_interval),
                   [this, i] { heartbeat(i); });
}

void Simulator::send_telemetry(std::size_t i) {
  double temperature, humidity;
  {
    std::lock_guard lock(rng_mu_);
    temperature = 21.0 + std::uniform_real_distribution<double>(-1.5, 1.5)(rng_);
    humidity = 40.0 + std::uniform_real_distribution<double>(-5, 5)(rng_);
  }
  const std::string& id = sensor_ids_[i];
  publish(id, topic("devices", id, "telemetry"),
          fmt::format(R"({{"ts":"{}","metrics":{{"temperature_c":{:.2f},"humidity_pct":{:.1f}}}}})",
                      now_text(), temperature, humidity));
  counters_.telemetry.fetch_add(1);
  scheduler_.after(duration_cast<microseconds>(options_.telemetry_interval),
                   [this, i] { send_telemetry(i); });
}

void Simulator::publish_door_state(std::size_t i) {
  DoorModel m;
  {
    std::lock_guard lock(doors_mu_);
    m = door_models_[i];
  }
  publish(controller_ids_[i], topic("doors", door_ids_[i], "state"),
          fmt::format(R"({{"lock":"{}","contact":"{}","beam":"{}","ts":"{}"}})",
                      m.locked ? "locked" : "unlocked", m.open ? "open" : "closed",
                      m.beam_blocked ? "blocked" : "clear", now_text()));
  counters_.state_changes.fetch_add(1);
}

void Simulator::run_grant_sequence(std::size_t i, std::int64_t unlock_ms) {
  {
    std::lock_guard lock(doors_mu_);
    if (door_models_[i].busy) return;  // already unlocked/open: a real door stays as it is
    door_models_[i].busy = true;
    door_models_[i].locked = false;
  }
  bool held;
  {
    std::lock_guard lock(rng_mu_);
    held = std::uniform_real_distribution<double>(0, 1)(rng_) < options_.held_open_ratio;
  }
  if (held) counters_.held_open.fetch_add(1);
  publish_door_state(i);
  const auto open_at = milliseconds(300);
  const auto close_at = held ? options_.held_open_for : milliseconds(1500);
  const auto lock_at =
      std::max(milliseconds(std::max<std::int64_t>(unlock_ms, 0)), close_at + milliseconds(100));
  auto set = [this, i](bool locked, bool open, bool beam, bool busy) {
    {
      std::lock_guard lock(doors_mu_);
      door_models_[i] = DoorModel{locked, open, beam, busy};
    }
    publish_door_state(i);
  };
  scheduler_.after(open_at, [set] { set(false, true, true, true); });
  scheduler_.after(open_at + milliseconds(700), [set] { set(false, true, false, true); });
  scheduler_.after(close_at, [set] { set(false, false, false, true); });
  scheduler_.after(lock_at, [set] { set(true, false, false, false); });
}

void Simulator::maybe_force_open() {
  const double p =
      options_.forced_open_per_door_per_min * duration_cast<milliseconds>(kTick).count() / 60000.0;
  for (std::size_t i = 0; i < door_ids_.size(); ++i) {
    bool hit;
    {
      std::lock_guard lock(rng_mu_);
      hit = std::uniform_real_distribution<double>(0, 1)(rng_) < p;
    }
    if (!hit) continue;
    {
      std::lock_guard lock(doors_mu_);
      DoorModel& m = door_models_[i];
      if (m.busy || !m.locked || m.open) continue;
      m = DoorModel{true, true, false, true};  // contact opens while the lock says locked
    }
    counters_.forced_open.fetch_add(1);
    publish_door_state(i);
    scheduler_.after(milliseconds(3000), [this, i] {
      {
        std::lock_guard lock(doors_mu_);
        door_models_[i] = DoorModel{true, false, false, false};
      }
      publish_door_state(i);
    });
  }
  scheduler_.after(kTick, [this] { maybe_force_open(); });
}

void Simulator::sweep_unanswered() {
  const auto now = clock_.monotonic();
  {
    std::lock_guard lock(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      const auto age = now - p.sent;
      if (!p.answered && !p.timed_out && age > options_.answer_timeout) {
        p.timed_out = true;
        counters_.unanswered.fetch_add(1);
      }
      // Keep answered entries a while to recognise duplicates, then forget them; of an
      // unanswered one keep the req, so that a very late answer still counts as late.
      if (age > 3 * options_.answer_timeout) {
        if (!p.answered) expired_.insert(it->first);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  scheduler_.after(kTick, [this] { sweep_unanswered(); });
}

}  // namespace castellan::devices::sim
