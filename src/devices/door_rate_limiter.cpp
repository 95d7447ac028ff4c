#include "devices/door_rate_limiter.hpp"

#include <algorithm>

namespace castellan::devices {

DoorRateLimiter::DoorRateLimiter(int per_second, std::chrono::seconds report_every)
    : per_second_(std::max(per_second, 0)),
      burst_(2.0 * std::max(per_second, 0)),
      report_every_(report_every) {}

bool DoorRateLimiter::take(const std::string& site, const std::string& door, Clock::Monotonic now) {
  if (per_second_ <= 0) return true;
  std::string key = site;
  key += '\x1f';
  key += door;
  auto [it, fresh] = buckets_.try_emplace(std::move(key));
  Bucket& b = it->second;
  if (fresh) {
    b.site = site;
    b.door = door;
    b.tokens = burst_;
  } else {
    const double seconds = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(burst_, b.tokens + std::max(seconds, 0.0) * per_second_);
  }
  // Racing swipes read the clock before the caller's lock, so `now` may come a little out of
  // order: the refill time never goes back, or the next take would credit that time twice.
  b.refilled = std::max(b.refilled, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (b.refused++ == 0) b.first_refused = now;
  return false;
}

std::vector<DoorRateLimiter::Report> DoorRateLimiter::due(Clock::Monotonic now) {
  std::vector<Report> out;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket& b = it->second;
    if (b.refused > 0 && now - b.first_refused >= report_every_) {
      out.push_back(Report{b.site, b.door, b.refused});
      b.refused = 0;
    }
    // Quiet long enough to be full again, nothing to report: the same as a new bucket.
    const auto refill = std::chrono::duration<double>(burst_ / per_second_);
    if (b.refused == 0 && now - b.refilled >= refill) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace castellan::devices
