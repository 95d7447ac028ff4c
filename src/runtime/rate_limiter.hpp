// Token-bucket rate limiter per key (e.g. failed log-ins per username and per client address,
// answered with 42901). Each key has a bucket of `capacity` tokens refilled continuously at
// `refill_per_second`; try_acquire() takes tokens or says how long to wait. Time comes from
// the injected Clock (monotonic). At most `max_keys` buckets are kept: when full, buckets that
// have refilled completely (they carry no state) are dropped first, then the stalest.
// Thread-safe (one mutex).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"

namespace castellan::runtime {

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double capacity, double refill_per_second,
              std::size_t max_keys = 100000);

  struct Decision {
    bool allowed = false;
    std::chrono::milliseconds retry_after{0};  // when not allowed: until enough tokens exist
  };
  Decision try_acquire(const std::string& key, double tokens = 1.0);
  // Tokens currently available for `key` (capacity for an unknown key).
  double available(const std::string& key) const;
  // Forgets `key` (e.g. after a successful log-in).
  void reset(const std::string& key);
  std::size_t key_count() const;

  // Limits of N events per minute: capacity N, refill N/60 per second.
  static RateLimiter per_minute(const Clock& clock, double events_per_minute);

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_us;
  };
  double refilled(const Bucket& b, std::int64_t now_us) const;
  void evict(std::int64_t now_us);
  std::int64_t now_us() const;

  const Clock& clock_;
  double capacity_;
  double refill_per_us_;
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace castellan::runtime
