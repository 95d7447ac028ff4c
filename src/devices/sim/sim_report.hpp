// What the simulator counts, and the text it prints.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "devices/sim/swipe_payloads.hpp"

namespace castellan::devices::sim {

// Round-trip times in microseconds; percentiles over every sample (a run of minutes at 20 k/s
// is a few million samples: 4 bytes each).
class LatencyRecorder {
 public:
  void add(std::uint32_t us);
  struct Summary {
    std::uint64_t count = 0;
    double p50_us = 0, p99_us = 0, max_us = 0;
  };
  Summary summary() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::uint32_t> samples_;
};

struct SimReport {
  double elapsed_s = 0;
  std::uint64_t sent = 0;                // swipes published
  std::uint64_t expecting_reply = 0;     // of those, the ones with a usable req
  std::uint64_t answered = 0;            // decisions accepted (signature and exp valid, or no key)
  std::uint64_t rejected_signature = 0;  // decisions with a bad signature
  std::uint64_t rejected_stale = 0;      // decisions whose exp was past or too far ahead
  std::uint64_t unverified = 0;          // of `answered`: doors without a key (not checked)
  std::uint64_t unanswered = 0;          // no decision within answer_timeout
  std::uint64_t late = 0;                // a decision after answer_timeout (already unanswered)
  std::uint64_t duplicate_answers = 0;   // a second decision for the same req
  std::uint64_t stray_answers = 0;  // decision for a req we never sent (on that door) / unparsable
  std::uint64_t unexpected_code = 0;    // a code no correct server gives, or a grant/deny that
                                        // contradicts its code (such a grant opens no door)
  std::uint64_t replies_to_no_req = 0;  // replies to swipes that had no usable req
  std::uint64_t publish_failed = 0;
  std::uint64_t heartbeats = 0, telemetry = 0, state_changes = 0;
  std::uint64_t forced_open = 0, held_open = 0;
  std::uint64_t commands = 0, commands_rejected = 0;
  std::uint64_t pending = 0;
  std::array<std::uint64_t, kSwipeKinds> sent_by_kind{};
  std::map<std::int32_t, std::uint64_t> codes;  // answered decisions by code
  LatencyRecorder::Summary rtt;

  // Answered, but with the server's failure instead of a decision: 5xxxx (unavailable, the
  // decision deadline passed) or 42901 (the door's swipe limit). A load the server cannot
  // keep up with shows as these before it shows as unanswered swipes.
  std::uint64_t refused() const;
};

// One progress line: "t=12.0s sent=… answered=… unanswered=… p50=… p99=… max=…".
std::string format_progress(const SimReport& r);
// The multi-line summary printed at the end.
std::string format_summary(const SimReport& r);

}  // namespace castellan::devices::sim
