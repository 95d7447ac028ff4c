// DoorStateTracker: lock/contact/beam of every door (from …/doors/{door}/state), the door
// alarms derived from them, and what GET /v1/doors/{id}/assist shows.
//
// - A change of any of the three is journaled as a `door_state` record.
// - forced_open: the contact opens while the lock reports `locked` and no grant or unlock
//   command authorised the door within the last unlock_ms. Cleared when the contact closes.
//   A window whose message the door never got is withdrawn; lock and lockdown end it.
// - held_open: the contact stays open longer than the door's held_open_s (checked by tick()).
//   Cleared when the contact closes.
//   An alarm still raised when the last process stopped is carried over (carry_over_alarm) and
//   cleared at the door's first `closed`.
//   Alarms are `door_alarm` records with extra {"alarm":"forced_open"|"held_open",
//   "state":"raised"|"cleared"}.
// - Assist: current state, the last 3 passages (grants), the failure rate of the last 24 h
//   (denied / all decisions at the door, in hourly buckets), and whether a force unlock is
//   advisable: not with the beam blocked or a failure rate above 12 %. The counts and passages
//   are kept across a restart (history / restore_history; app/door_history_file saves them).
//
// Thread-safe (one mutex); journal appends are queued under it so records keep their order.
#pragma once

#include <array>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "devices/payloads.hpp"
#include "devices/ports.hpp"

namespace castellan::devices {

inline constexpr double kMaxFailureRateForUnlock = 0.12;

struct Passage {
  TimePoint ts{};
  std::string user;
  Direction dir = Direction::kIn;
  std::string trace_id;
};

// Decisions at a door in one hour (UTC, hours since the epoch).
struct DecisionHour {
  std::int64_t hour = -1;
  std::uint32_t total = 0;
  std::uint32_t denied = 0;
};

// What assist shows beyond the door's live state: the decision counts of the last 24 h and the
// last passages.
struct DoorHistory {
  std::string site;
  std::string door;
  std::vector<DecisionHour> hours;  // of the last 24 h, oldest first, none empty
  std::vector<Passage> recent;      // newest first
};

struct AssistView {
  LockState lock = LockState::kUnknown;
  ContactState contact = ContactState::kUnknown;
  BeamState beam = BeamState::kUnknown;
  std::vector<Passage> recent;  // newest first, at most 3
  double failure_rate_24h = 0;
  std::uint64_t decisions_24h = 0;
  bool force_unlock_allowed = true;
  std::string reason;  // why not (empty when allowed)
  bool forced_open = false;
  bool held_open = false;
};

class DoorStateTracker {
 public:
  DoorStateTracker(const Clock& clock, JournalSink& journal);

  // The authorised window a grant or an unlock opened (or extended), so that it can be
  // withdrawn when the door never got the message.
  struct Authorisation {
    Clock::Monotonic previous{};
    Clock::Monotonic until{};
  };

  void on_state(const DoorInfo& door, const DoorStateUpdate& update);
  // Every decision published at a door (for the failure rate); grants open the door's
  // authorised window and are kept as passages.
  Authorisation on_decision(const DoorInfo& door, bool granted, std::string_view user,
                            Direction dir, std::string_view trace_id, int unlock_ms);
  // Authorises opening for `unlock_ms` from now: an unlock command, or a grant sent again (a
  // duplicate swipe answered from the de-duplication table with a fresh `exp`).
  Authorisation authorise(const DoorInfo& door, int unlock_ms);
  // The door never got the grant or unlock that opened `a`: back to the window before it,
  // unless a later grant or unlock has moved the window since.
  void withdraw(const DoorInfo& door, const Authorisation& a);
  // The grant `trace_id` was never received (its publish failed; the journal says 50301): it
  // is no passage, and it counts as a failed decision.
  void grant_not_received(const DoorInfo& door, std::string_view trace_id);
  // A lock or lockdown command ends the window: an opening after it is forced, whatever an
  // earlier grant or unlock allowed.
  void end_authorisation(const DoorInfo& door);
  // Raises held_open alarms that came due.
  void tick();
  // At start, before any state arrives: `alarm` ("forced_open" | "held_open") was raised at the
  // door before the restart and never cleared. It is not raised again, and is cleared (and
  // journaled so) when the door is first seen closed.
  void carry_over_alarm(const DoorInfo& door, std::string_view alarm);

  // Every door's history, to keep across a restart.
  std::vector<DoorHistory> history() const;
  // At start, before any decision: adds what a save before the restart kept. Hours no longer
  // in the last 24 h are dropped.
  void restore_history(const DoorInfo& door, const DoorHistory& saved);

  AssistView assist(std::string_view door) const;
  // {"lock","contact","beam","recent":[{"ts","user","dir","trace_id"}],"failure_rate_24h",
  //  "decisions_24h","force_unlock_allowed","reason","alarms":{"forced_open","held_open"}}
  std::string assist_json(std::string_view door) const;

 private:
  struct State {
    std::string site;
    std::string id;
    int held_open_s = 30;
    LockState lock = LockState::kUnknown;
    ContactState contact = ContactState::kUnknown;
    BeamState beam = BeamState::kUnknown;
    Clock::Monotonic authorised_until{};
    Clock::Monotonic open_since{};
    bool forced_open = false;
    bool held_open = false;
    std::deque<Passage> recent;
    std::array<DecisionHour, 25> hours{};  // slot hour % 25
  };
  State& state_for(const DoorInfo& door);
  // The slot of `hour`, emptied first if it held an older hour.
  static DecisionHour& hour_slot(State& s, std::int64_t hour);
  // Whether `hour` is one of the last 24 (the current one and the 23 before it).
  bool in_last_day(std::int64_t hour) const;
  // Moves the window's end to at least now + unlock_ms. Caller holds mu_.
  Authorisation extend(State& s, int unlock_ms);
  void journal_state(const State& s);
  void journal_alarm(const State& s, std::string_view alarm, bool raised);
  AssistView view(const State& s) const;

  const Clock& clock_;
  JournalSink& journal_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, State> doors_;
};

}  // namespace castellan::devices
