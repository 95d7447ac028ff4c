#include "app/pass_use_replay.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/decision_scan.hpp"
#include "core/crypto.hpp"

namespace castellan::app {

Result<PassUseReplay> replay_pass_uses(const journal::Journal& journal,
                                       const access::Snapshot& snapshot,
                                       access::PassUseLedger& ledger,
                                       std::optional<TimePoint> saved_at) {
  PassUseReplay report;
  if (!saved_at || snapshot.passes.empty()) return report;
  // A grant counts for the pass of its id only if it was that pass's card: a pass deleted and
  // issued again under its id, for another card, in the window read back does not inherit the
  // old one's uses.
  std::unordered_map<std::string, std::string> card_of_pass;
  for (const auto& p : snapshot.passes) card_of_pass.emplace(p.pass.id, to_hex(p.pass.hash));

  // Newest first: a grant's failure record (written after it) is seen before the grant, and
  // each failure replaces one grant, the nearest earlier one with its key (a reused trace id
  // may name two swipes of one card at one door).
  std::unordered_map<std::string, std::uint32_t> failed;
  std::unordered_map<std::string, std::uint32_t> highest;
  auto read = scan_decisions(
      journal, *saved_at - kPassUseReplayMargin, [&](const journal::JournalRecord& r) {
        if (is_failure_deny(r)) {
          ++failed[decision_key(r)];
          return;
        }
        if (r.decision != "grant" || r.code != 0) return;
        if (auto f = failed.find(decision_key(r)); f != failed.end() && f->second > 0) {
          --f->second;  // this grant is the one its failure replaced
          return;
        }
        if (!r.pass_use || *r.pass_use <= 0 ||
            *r.pass_use > std::numeric_limits<std::uint32_t>::max()) {
          return;
        }
        if (auto p = card_of_pass.find(r.pass);
            p == card_of_pass.end() || p->second != r.card_hash) {
          return;
        }
        auto& h = highest[r.pass];
        h = std::max(h, static_cast<std::uint32_t>(*r.pass_use));
      });
  if (!read) return read.error();
  report.decisions_read = *read;

  std::vector<access::PassUse> found;
  for (const auto& [id, used] : highest) found.push_back(access::PassUse{id, used});
  const auto recovered = ledger.recover(found);
  report.passes_raised = recovered.passes;
  report.uses_recovered = recovered.uses;
  return report;
}

}  // namespace castellan::app
