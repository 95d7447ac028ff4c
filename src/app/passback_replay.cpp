#include "app/passback_replay.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "app/decision_scan.hpp"
#include "core/crypto.hpp"

namespace castellan::app {
namespace {

struct Grant {
  std::uint64_t seq = 0;
  TimePoint ts{};
  std::string site;
  access::CardHash card{};
  access::Direction dir = access::Direction::in;
  std::string key;  // decision_key(): what its failure deny would carry
};

// A grant the engine made at a door that is an anti-passback door now; nullopt otherwise.
std::optional<Grant> apb_grant(const journal::JournalRecord& r, const access::Snapshot& snapshot) {
  if (r.decision != "grant" || r.code != 0 || (r.dir != "in" && r.dir != "out")) return {};
  const access::Door* door = snapshot.find_door(r.door);
  if (door == nullptr || !door->apb || door->site != r.site) return {};
  auto bytes = from_hex(r.card_hash);
  access::CardHash card{};
  if (!bytes || bytes->size() != card.size()) return {};
  std::copy(bytes->begin(), bytes->end(), card.begin());
  return Grant{r.seq,
               r.ts,
               r.site,
               card,
               r.dir == "out" ? access::Direction::out : access::Direction::in,
               decision_key(r)};
}

}  // namespace

Result<PassbackReplay> replay_passback(const journal::Journal& journal,
                                       const access::Snapshot& snapshot,
                                       access::AntiPassbackTracker& tracker, TimePoint now) {
  PassbackReplay report;
  std::vector<Grant> grants;
  std::vector<std::pair<std::uint64_t, std::string>> failures;  // seq, decision_key()
  // Only the anti-passback doors' decisions matter (a failure deny names the door of the grant
  // it replaced), each over its site's window. Reading just those keeps a start short where
  // most doors have no anti-passback: every record read is parsed (docs/benchmarks.md).
  for (const auto& d : snapshot.doors) {
    if (!d.door.apb) continue;
    const int window_hours = snapshot.sites[d.site_index].site.apb_reset_hours;
    auto read = scan_decisions(
        journal, now - std::chrono::hours(window_hours),
        [&](const journal::JournalRecord& r) {
          if (is_failure_deny(r)) {
            failures.emplace_back(r.seq, decision_key(r));
          } else if (auto g = apb_grant(r, snapshot)) {
            grants.push_back(std::move(*g));
          }
        },
        d.door.id);
    if (!read) return read.error();
    report.decisions_read += *read;
  }

  // Oldest first, so that each grant finds the position its swipe found.
  std::sort(grants.begin(), grants.end(),
            [](const Grant& a, const Grant& b) { return a.seq < b.seq; });
  std::sort(failures.begin(), failures.end());
  // Each failure deny replaces one grant: the nearest earlier one with its key (a client may
  // reuse a trace id for two swipes of one card at one door; only one of them failed).
  std::vector<bool> cancelled(grants.size(), false);
  std::unordered_map<std::string, std::vector<std::size_t>> open;  // key -> grants, oldest first
  std::size_t next_grant = 0;
  for (const auto& [seq, key] : failures) {
    for (; next_grant < grants.size() && grants[next_grant].seq < seq; ++next_grant) {
      open[grants[next_grant].key].push_back(next_grant);
    }
    auto it = open.find(key);
    if (it == open.end() || it->second.empty()) continue;  // a deny's failure: nothing to undo
    cancelled[it->second.back()] = true;
    it->second.pop_back();
  }
  for (std::size_t i = 0; i < grants.size(); ++i) {
    const Grant& g = grants[i];
    if (cancelled[i]) {
      ++report.grants_skipped;
      continue;
    }
    const auto* site = snapshot.find_site(g.site);
    tracker.with_position(g.site, g.card, g.ts, std::chrono::hours(site->apb_reset_hours), g.dir,
                          [](bool) { return true; });
    ++report.grants_applied;
  }
  return report;
}

}  // namespace castellan::app
