// Heartbeats (issue 5): 100,000 simulated devices, one heartbeat every 3 s each, through the
// HeartbeatMonitor (hashed timing wheel, 100 ms ticks) in-process, no broker. Virtual time
// (FakeClock) in 10 ms steps; the monitor is ticked every 20 ms like the service's ticker.
// After 9 s, 10 % of the devices fall silent at random moments; each offline transition's
// detection delay (transition time - last heartbeat) is compared with the 8 s target.
//
// Figures: CPU time per heartbeat (thread CPU time of the whole run / heartbeats), CPU share
// (CPU seconds / simulated seconds: the fraction of one core the real load would need), and the
// detection delay distribution. Baselines in the same run:
//   * Naive: a timer per device per heartbeat (std::multimap of deadlines, erase + insert on
//     every heartbeat, pop what is due on each tick) — the design the wheel avoids;
//   * Harness: the same simulation loop with a monitor that does nothing (loop overhead).
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "devices/heartbeat_monitor.hpp"

namespace {

using namespace castellan;
using namespace castellan::devices;
using namespace std::chrono_literals;

constexpr int kDevices = 100'000;
constexpr auto kPeriod = 3000ms;
constexpr auto kStep = 10ms;
constexpr auto kTickEvery = 20ms;
constexpr auto kSilenceFrom = 9000ms;
constexpr auto kSilenceSpread = 3000ms;
constexpr auto kRunFor = 25000ms;
constexpr double kSilentShare = 0.10;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Baseline: one timer per device, replaced on every heartbeat.
class NaiveMonitor {
 public:
  using Sink = HeartbeatMonitor::TransitionSink;
  NaiveMonitor(const Clock& clock, Sink sink) : clock_(clock), sink_(std::move(sink)) {}
  bool on_heartbeat(std::string_view site, std::string_view device, const HeartbeatPayload&) {
    std::lock_guard lock(mu_);
    auto now = clock_.monotonic();
    auto [it, fresh] = devices_.try_emplace(std::string(device));
    Device& d = it->second;
    if (!fresh && d.online) timers_.erase(d.timer);
    d.timer = timers_.emplace(now + 8000ms, &it->first);
    d.last = clock_.now();
    if (!d.online) {
      d.online = true;
      sink_(
          DeviceTransition{std::string(site), it->first, true, "heartbeat", clock_.now(), d.last});
    }
    return true;
  }
  void tick() {
    std::lock_guard lock(mu_);
    auto now = clock_.monotonic();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const std::string* id = timers_.begin()->second;
      timers_.erase(timers_.begin());
      Device& d = devices_.at(*id);
      d.online = false;
      sink_(DeviceTransition{"hq", *id, false, "timeout", clock_.now(), d.last});
    }
  }

 private:
  using Timers = std::multimap<Clock::Monotonic, const std::string*>;
  struct Device {
    bool online = false;
    Timers::iterator timer;
    TimePoint last{};
  };
  const Clock& clock_;
  Sink sink_;
  std::mutex mu_;
  Timers timers_;
  std::unordered_map<std::string, Device> devices_;
};

class NoMonitor {
 public:
  NoMonitor(const Clock&, HeartbeatMonitor::TransitionSink) {}
  bool on_heartbeat(std::string_view, std::string_view device, const HeartbeatPayload&) {
    benchmark::DoNotOptimize(device.data());
    return true;
  }
  void tick() {}
};

template <class Monitor>
Monitor make_monitor(FakeClock& clock, HeartbeatMonitor::TransitionSink sink) {
  if constexpr (std::is_same_v<Monitor, HeartbeatMonitor>) {
    return HeartbeatMonitor(clock, HeartbeatOptions{}, std::move(sink));
  } else {
    return Monitor(clock, std::move(sink));
  }
}

template <class Monitor>
void run_simulation(benchmark::State& state) {
  std::vector<std::string> ids(kDevices);
  for (int i = 0; i < kDevices; ++i) ids[i] = "dev-" + std::to_string(i);
  std::mt19937 rng(42);
  const int steps_per_period = static_cast<int>(kPeriod / kStep);
  std::vector<std::vector<int>> by_phase(steps_per_period);
  for (int i = 0; i < kDevices; ++i) by_phase[rng() % steps_per_period].push_back(i);
  // Silent devices stop heartbeating at a random moment in [9 s, 12 s).
  std::vector<std::int64_t> silent_from_ms(kDevices, INT64_MAX);
  for (int i = 0; i < kDevices; ++i) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < kSilentShare) {
      silent_from_ms[i] = kSilenceFrom.count() + rng() % kSilenceSpread.count();
    }
  }

  std::vector<double> delays_ms;
  std::uint64_t heartbeats = 0, offline = 0, wrong = 0;
  double cpu = 0;
  for (auto _ : state) {
    FakeClock clock(*parse_utc("2026-11-22T03:00:00Z"));
    delays_ms.clear();
    std::vector<DeviceTransition> transitions;
    transitions.reserve(kDevices);
    Monitor monitor =
        make_monitor<Monitor>(clock, [&](const DeviceTransition& t) { transitions.push_back(t); });
    HeartbeatPayload payload{"1.0.0", 100, std::nullopt};
    double cpu_start = thread_cpu_seconds();
    const int steps = static_cast<int>(kRunFor / kStep);
    for (int s = 1; s <= steps; ++s) {
      clock.advance(kStep);
      const std::int64_t now_ms = s * kStep.count();
      for (int i : by_phase[s % steps_per_period]) {
        if (now_ms >= silent_from_ms[i]) continue;
        monitor.on_heartbeat("hq", ids[i], payload);
        ++heartbeats;
      }
      if (now_ms % kTickEvery.count() == 0) monitor.tick();
    }
    cpu += thread_cpu_seconds() - cpu_start;
    // Detection delays: offline transitions relative to the device's last heartbeat.
    state.PauseTiming();
    for (const auto& t : transitions) {
      if (t.online) continue;
      ++offline;
      if (!t.last_heartbeat) {
        ++wrong;
        continue;
      }
      delays_ms.push_back(
          std::chrono::duration<double, std::milli>(t.at - *t.last_heartbeat).count());
    }
    state.ResumeTiming();
  }
  const double iterations = static_cast<double>(state.iterations());
  const double simulated_s = std::chrono::duration<double>(kRunFor).count() * iterations;
  state.counters["heartbeats"] = static_cast<double>(heartbeats) / iterations;
  state.counters["ns_per_hb"] = heartbeats ? cpu / static_cast<double>(heartbeats) * 1e9 : 0;
  state.counters["cpu_share_pct"] = cpu / simulated_s * 100;
  state.counters["offline"] = static_cast<double>(offline) / iterations;
  state.counters["bad"] = static_cast<double>(wrong);
  if (!delays_ms.empty()) {
    std::sort(delays_ms.begin(), delays_ms.end());
    auto pct = [&](double p) {
      return delays_ms[std::min(
          delays_ms.size() - 1,
          static_cast<std::size_t>(p * static_cast<double>(delays_ms.size())))];
    };
    state.counters["delay_min_ms"] = delays_ms.front();
    state.counters["delay_p50_ms"] = pct(0.50);
    state.counters["delay_p99_ms"] = pct(0.99);
    state.counters["delay_max_ms"] = delays_ms.back();
    // Contract: 8 s ± 0.5 s.
    std::size_t outside = std::count_if(delays_ms.begin(), delays_ms.end(),
                                        [](double d) { return d < 7500 || d > 8500; });
    state.counters["outside_8s_pm_0.5s"] = static_cast<double>(outside);
  }
}

void BM_Heartbeats_Wheel(benchmark::State& state) {
  run_simulation<HeartbeatMonitor>(state);
}
void BM_Heartbeats_NaiveTimerPerHeartbeat(benchmark::State& state) {
  run_simulation<NaiveMonitor>(state);
}
void BM_Heartbeats_HarnessOnly(benchmark::State& state) {
  run_simulation<NoMonitor>(state);
}

BENCHMARK(BM_Heartbeats_Wheel)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Heartbeats_NaiveTimerPerHeartbeat)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Heartbeats_HarnessOnly)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
