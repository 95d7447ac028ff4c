// CircuitBreaker: stops calling a failing dependency for a while (Nygard). Closed: calls pass;
// `failure_threshold` consecutive failures open it. Open: allow() refuses until `open_for`
// has passed on the injected Clock, then the breaker is half-open. Half-open: up to
// `half_open_calls` trial calls pass; one success closes it, one failure opens it again.
// Thread-safe (one mutex).
#pragma once

#include <chrono>
#include <mutex>
#include <string_view>

#include "core/clock.hpp"

namespace castellan::runtime {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Options {
    int failure_threshold = 5;
    std::chrono::milliseconds open_for{5000};
    int half_open_calls = 1;
  };

  CircuitBreaker(const Clock& clock, Options options);

  // True when a call may go ahead now. A caller that got true must report the outcome.
  bool allow();
  void record_success();
  void record_failure();

  State state() const;
  static std::string_view state_name(State state);  // "closed", "open", "half_open"

 private:
  // Moves open -> half-open once open_for has passed (a transition due to time alone).
  void refresh_locked() const;

  const Clock& clock_;
  Options options_;
  mutable std::mutex mu_;
  mutable State state_ = State::kClosed;
  int failures_ = 0;
  mutable int trials_in_flight_ = 0;
  Clock::Monotonic opened_at_{};
};

}  // namespace castellan::runtime
