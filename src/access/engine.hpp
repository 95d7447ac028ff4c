// DecisionEngine: decides one card swipe (contract §4). A pure function of the current
// snapshot plus two pieces of mutable state (anti-passback positions, pass use counts); it does
// no I/O and never reads the clock (`now` comes with the request).
//
// Order of evaluation, which is the contract's precedence:
//   40401 door unknown (or the door belongs to another site), 40309 door/site lockdown,
//   40304 no card and no pass with this hash, then per credential (the card, each pass):
//   40303 revoked/lost, 40310 holder suspended, 40302 not yet valid, 40301 expired,
//   40308 pass exhausted, 40305 no group/pass grants this door, 40306 outside schedule.
// A card that is revoked/lost (40303) or whose holder is suspended (40310) is denied with that
// code at once: passes on the same uid are not consulted, since the token or its holder is
// blocked. Otherwise, if any credential passes, anti-passback (40307) is checked for apb
// doors, and a pass use is taken only when the card itself does not grant. When no credential
// passes, the deny reason ranked first by precedence_rank() across all credentials is returned.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "access/model.hpp"
#include "access/pass_ledger.hpp"
#include "access/passback.hpp"
#include "access/snapshot.hpp"
#include "core/codes.hpp"
#include "core/time.hpp"

namespace castellan::access {

struct DecisionRequest {
  std::string_view site;
  std::string_view door;
  CardHash card_hash{};
  Direction dir = Direction::in;
  TimePoint now{};
};

// What a grant took from the mutable state, so that it can be given back (see give_back()).
struct Taken {
  std::string site;
  CardHash card_hash{};
  std::shared_ptr<PassCounter> pass_use;   // set when a pass use was taken
  std::optional<PositionChange> position;  // set at an anti-passback door
};

struct DecisionResult {
  Code code = Code::ERR_CARD_UNKNOWN;
  bool granted = false;
  std::string user;  // the registered card's holder (also when a pass on it grants); else empty
  CardHash card_hash{};
  std::string pass_id;         // set when a pass use was taken
  std::uint32_t pass_use = 0;  // the use taken (1 = the pass's first); 0 = none
  int unlock_ms = 0;           // the door's unlock time (0 for an unknown door)
  FailMode fail_mode = FailMode::secure;
  bool fail_safe = false;  // door is fail_mode = "safe": 50301/50401 grant there
  std::uint64_t snapshot_version = 0;
  Taken taken;  // empty unless granted
};

// Whether a failure code grants at a door of this fail mode (contract §4: only 50301 and
// 50401 at "safe" doors).
bool grants_on_failure(Code code, FailMode mode);

// "grant" / "deny".
inline std::string_view decision_name(bool granted) {
  return granted ? "grant" : "deny";
}

class DecisionEngine {
 public:
  explicit DecisionEngine(const SnapshotHolder& snapshots) : snapshots_(snapshots) {}

  // Decides against the currently published snapshot.
  DecisionResult decide(const DecisionRequest& request);
  // Decides against a given snapshot (tests, benchmarks, replays).
  DecisionResult decide(const Snapshot& snapshot, const DecisionRequest& request);

  // Undoes what a grant took (its pass use, its anti-passback move) when the door never got
  // that grant: the answer published was a fail-secure 50301/50401 deny instead. A position
  // that a later swipe of the card has moved since is left alone.
  void give_back(const Taken& taken);

  // Whether the door of `site` is in lockdown (its own or its site's) in the current snapshot.
  bool in_lockdown(std::string_view site, std::string_view door) const;

  AntiPassbackTracker& passback() { return passback_; }

 private:
  const SnapshotHolder& snapshots_;
  AntiPassbackTracker passback_;
};

}  // namespace castellan::access
