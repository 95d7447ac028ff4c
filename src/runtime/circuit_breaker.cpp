#include "runtime/circuit_breaker.hpp"

namespace castellan::runtime {

CircuitBreaker::CircuitBreaker(const Clock& clock, Options options)
    : clock_(clock), options_(options) {}

void CircuitBreaker::refresh_locked() const {
  if (state_ == State::kOpen && clock_.monotonic() - opened_at_ >= options_.open_for) {
    state_ = State::kHalfOpen;
    trials_in_flight_ = 0;
  }
}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mu_);
  refresh_locked();
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      if (trials_in_flight_ >= options_.half_open_calls) return false;
      ++trials_in_flight_;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mu_);
  refresh_locked();
  failures_ = 0;
  if (state_ == State::kHalfOpen) {
    state_ = State::kClosed;
    trials_in_flight_ = 0;
  }
}

void CircuitBreaker::record_failure() {
  std::lock_guard lock(mu_);
  refresh_locked();
  if (state_ == State::kHalfOpen) {
    state_ = State::kOpen;
    opened_at_ = clock_.monotonic();
    trials_in_flight_ = 0;
    return;
  }
  if (state_ == State::kOpen) return;
  if (++failures_ >= options_.failure_threshold) {
    state_ = State::kOpen;
    opened_at_ = clock_.monotonic();
    failures_ = 0;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  refresh_locked();
  return state_;
}

std::string_view CircuitBreaker::state_name(State state) {
  switch (state) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

}  // namespace castellan::runtime
