#include "app/swipe_answer_replay.hpp"

#include <string>
#include <unordered_set>
#include <vector>

#include "app/decision_scan.hpp"

namespace castellan::app {

Result<std::uint64_t> replay_swipe_answers(const journal::Journal& journal,
                                           devices::SwipePipeline& swipes, TimePoint now,
                                           std::chrono::seconds window) {
  std::unordered_set<std::string> seen;
  std::vector<journal::JournalRecord> newest;  // newest first, as the scan returns them
  auto read = scan_decisions(journal, now - window, [&](const journal::JournalRecord& r) {
    if (r.source != "mqtt" || r.req.empty()) return;
    if (seen.insert(devices::swipe_key(r.site, r.door, r.req, r.card_hash, r.dir)).second) {
      newest.push_back(r);
    }
  });
  if (!read) return read.error();
  // Oldest first, the order in which the table expires its entries.
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) swipes.remember(*it);
  return static_cast<std::uint64_t>(newest.size());
}

}  // namespace castellan::app
