#include "core/clock.hpp"

namespace castellan {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

Clock::Monotonic SystemClock::monotonic() const {
  return std::chrono::steady_clock::now();
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace castellan
