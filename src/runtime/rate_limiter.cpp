#include "runtime/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace castellan::runtime {

RateLimiter::RateLimiter(const Clock& clock, double capacity, double refill_per_second,
                         std::size_t max_keys)
    : clock_(clock),
      capacity_(capacity),
      refill_per_us_(refill_per_second / 1e6),
      max_keys_(std::max<std::size_t>(1, max_keys)) {}

RateLimiter RateLimiter::per_minute(const Clock& clock, double events_per_minute) {
  return RateLimiter(clock, events_per_minute, events_per_minute / 60.0);
}

std::int64_t RateLimiter::now_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             clock_.monotonic().time_since_epoch())
      .count();
}

double RateLimiter::refilled(const Bucket& b, std::int64_t now) const {
  const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now - b.updated_us));
  return std::min(capacity_, b.tokens + elapsed * refill_per_us_);
}

void RateLimiter::evict(std::int64_t now) {
  // Full buckets carry no state: forget them first.
  std::erase_if(buckets_, [&](const auto& kv) { return refilled(kv.second, now) >= capacity_; });
  while (buckets_.size() >= max_keys_) {
    auto stalest = std::min_element(
        buckets_.begin(), buckets_.end(),
        [](const auto& a, const auto& b) { return a.second.updated_us < b.second.updated_us; });
    buckets_.erase(stalest);
  }
}

RateLimiter::Decision RateLimiter::try_acquire(const std::string& key, double tokens) {
  const std::int64_t now = now_us();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) evict(now);
    it = buckets_.emplace(key, Bucket{capacity_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.updated_us = now;
  // Tolerance for the rounding of the continuous refill (1e-9 of a token).
  constexpr double kEpsilon = 1e-9;
  if (b.tokens + kEpsilon >= tokens) {
    b.tokens = std::max(0.0, b.tokens - tokens);
    return Decision{true, std::chrono::milliseconds{0}};
  }
  if (refill_per_us_ <= 0) return Decision{false, std::chrono::milliseconds::max()};
  const double wait_ms = (tokens - b.tokens) / refill_per_us_ / 1000.0;
  return Decision{
      false, std::chrono::milliseconds{static_cast<std::int64_t>(std::ceil(wait_ms - kEpsilon))}};
}

double RateLimiter::available(const std::string& key) const {
  const std::int64_t now = now_us();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  return it == buckets_.end() ? capacity_ : refilled(it->second, now);
}

void RateLimiter::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  buckets_.erase(key);
}

std::size_t RateLimiter::key_count() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace castellan::runtime
