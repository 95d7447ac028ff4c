// Clock: the one way logic learns the time. Production code receives a Clock& in its
// constructor; tests pass a FakeClock and move time by hand (schedules, heartbeats, breakers).
#pragma once

#include <atomic>
#include <chrono>

#include "core/time.hpp"

namespace castellan {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // UTC wall-clock time.
  virtual TimePoint now() const = 0;
  // Monotonic time for durations and deadlines; never jumps.
  virtual Monotonic monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
  Monotonic monotonic() const override;
  // A process-wide instance for wiring in app/.
  static SystemClock& instance();
};

// Manually driven clock. Thread-safe: readers may run on other threads.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{}) : wall_us_(to_unix_us(start)) {}
  TimePoint now() const override { return from_unix_us(wall_us_.load()); }
  Monotonic monotonic() const override {
    return Monotonic{std::chrono::microseconds{mono_us_.load()}};
  }
  void set(TimePoint t) { wall_us_.store(to_unix_us(t)); }
  // Advances wall and monotonic time together.
  void advance(std::chrono::microseconds d) {
    wall_us_.fetch_add(d.count());
    mono_us_.fetch_add(d.count());
  }

 private:
  std::atomic<std::int64_t> wall_us_;
  std::atomic<std::int64_t> mono_us_{1'000'000};
};

}  // namespace castellan
