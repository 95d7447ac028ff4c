// DoorRateLimiter: at most `per_second` new swipes per door, in bursts of up to two seconds'
// worth (a token bucket per door), so that one controller flooding its own topics (a fault or
// a stolen credential) cannot fill the de-duplication table, the journal and the decision path
// that every other door shares. Contract §4's 42901 "too many requests for this door" is the
// answer to a swipe over the limit.
//
// Refusals are counted per door and reported once per `report_every` (from the first refusal),
// so that the journal says a door was flooded without one record per refused swipe. Buckets
// of doors that went quiet are forgotten. Not thread-safe: the owner locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace castellan::devices {

class DoorRateLimiter {
 public:
  struct Report {
    std::string site;
    std::string door;
    std::uint64_t refused = 0;
  };

  // per_second <= 0: no limit.
  explicit DoorRateLimiter(int per_second,
                           std::chrono::seconds report_every = std::chrono::seconds(60));

  // Takes one swipe's token of the door; false when the door is over its limit.
  bool take(const std::string& site, const std::string& door, Clock::Monotonic now);
  // Doors with refusals whose report is due; forgets doors that have been quiet for a while.
  std::vector<Report> due(Clock::Monotonic now);

  std::size_t doors() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::string site, door;
    double tokens = 0;
    Clock::Monotonic refilled{};
    std::uint64_t refused = 0;
    Clock::Monotonic first_refused{};
  };

  double per_second_;
  double burst_;
  std::chrono::seconds report_every_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace castellan::devices
