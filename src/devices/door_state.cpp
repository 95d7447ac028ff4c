#include "devices/door_state.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "devices/journal_records.hpp"

namespace castellan::devices {
namespace json = boost::json;
namespace {

constexpr std::size_t kRecentPassages = 3;

std::int64_t hour_of(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count();
}

}  // namespace

DoorStateTracker::DoorStateTracker(const Clock& clock, JournalSink& journal)
    : clock_(clock), journal_(journal) {}

DoorStateTracker::State& DoorStateTracker::state_for(const DoorInfo& door) {
  State& s = doors_[door.id];
  s.site = door.site;
  s.id = door.id;
  s.held_open_s = door.held_open_s;
  return s;
}

DecisionHour& DoorStateTracker::hour_slot(State& s, std::int64_t hour) {
  auto& slot = s.hours[static_cast<std::size_t>(hour) % s.hours.size()];
  if (slot.hour != hour) slot = DecisionHour{hour, 0, 0};
  return slot;
}

bool DoorStateTracker::in_last_day(std::int64_t hour) const {
  const std::int64_t now_hour = hour_of(clock_.now());
  return hour >= 0 && hour <= now_hour && now_hour - hour < 24;
}

void DoorStateTracker::journal_state(const State& s) {
  append_logged(journal_, door_state_record(s.site, s.id, s.lock, s.contact, s.beam));
}

void DoorStateTracker::journal_alarm(const State& s, std::string_view alarm, bool raised) {
  append_logged(journal_, door_alarm_record(s.site, s.id, alarm, raised));
}

void DoorStateTracker::on_state(const DoorInfo& door, const DoorStateUpdate& update) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  auto mono = clock_.monotonic();
  ContactState before = s.contact;
  bool changed = false;
  if (update.lock && *update.lock != s.lock) {
    s.lock = *update.lock;
    changed = true;
  }
  if (update.beam && *update.beam != s.beam) {
    s.beam = *update.beam;
    changed = true;
  }
  if (update.contact && *update.contact != s.contact) {
    s.contact = *update.contact;
    changed = true;
  }
  if (changed) journal_state(s);

  if (s.contact == ContactState::kOpen && before != ContactState::kOpen) {
    s.open_since = mono;
    // The lock state that counts is the one before this message, or the one in it. A door
    // first seen open (after a start, contact unknown) opened when nobody was watching: no
    // forced-open alarm for an opening not seen; held open still counts from now.
    bool locked = s.lock == LockState::kLocked;
    if (before != ContactState::kUnknown && locked && mono > s.authorised_until && !s.forced_open) {
      s.forced_open = true;
      journal_alarm(s, "forced_open", true);
    }
  } else if (s.contact == ContactState::kClosed && before != ContactState::kClosed) {
    // From open, or at first sight: only an alarm carried over from before a restart can be
    // raised while the contact is still unknown.
    if (s.forced_open) {
      s.forced_open = false;
      journal_alarm(s, "forced_open", false);
    }
    if (s.held_open) {
      s.held_open = false;
      journal_alarm(s, "held_open", false);
    }
  }
}

DoorStateTracker::Authorisation DoorStateTracker::on_decision(const DoorInfo& door, bool granted,
                                                              std::string_view user, Direction dir,
                                                              std::string_view trace_id,
                                                              int unlock_ms) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  auto now = clock_.now();
  auto& bucket = hour_slot(s, hour_of(now));
  ++bucket.total;
  if (!granted) {
    ++bucket.denied;
    return Authorisation{s.authorised_until, s.authorised_until};
  }
  s.recent.push_front(Passage{now, std::string(user), dir, std::string(trace_id)});
  while (s.recent.size() > kRecentPassages) s.recent.pop_back();
  return extend(s, unlock_ms);
}

DoorStateTracker::Authorisation DoorStateTracker::authorise(const DoorInfo& door, int unlock_ms) {
  std::lock_guard lock(mu_);
  return extend(state_for(door), unlock_ms);
}

DoorStateTracker::Authorisation DoorStateTracker::extend(State& s, int unlock_ms) {
  Authorisation a{s.authorised_until, s.authorised_until};
  a.until = std::max(a.previous, clock_.monotonic() + std::chrono::milliseconds{unlock_ms});
  s.authorised_until = a.until;
  return a;
}

void DoorStateTracker::withdraw(const DoorInfo& door, const Authorisation& a) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  if (s.authorised_until == a.until) s.authorised_until = a.previous;
}

void DoorStateTracker::grant_not_received(const DoorInfo& door, std::string_view trace_id) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  std::erase_if(s.recent, [&](const Passage& p) { return p.trace_id == trace_id; });
  auto& bucket = s.hours[static_cast<std::size_t>(hour_of(clock_.now())) % s.hours.size()];
  if (bucket.hour == hour_of(clock_.now())) ++bucket.denied;
}

void DoorStateTracker::end_authorisation(const DoorInfo& door) {
  std::lock_guard lock(mu_);
  state_for(door).authorised_until = Clock::Monotonic{};
}

void DoorStateTracker::tick() {
  std::lock_guard lock(mu_);
  auto mono = clock_.monotonic();
  for (auto& [id, s] : doors_) {
    if (s.contact != ContactState::kOpen || s.held_open) continue;
    if (mono - s.open_since > std::chrono::seconds{s.held_open_s}) {
      s.held_open = true;
      journal_alarm(s, "held_open", true);
    }
  }
}

void DoorStateTracker::carry_over_alarm(const DoorInfo& door, std::string_view alarm) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  if (alarm == "forced_open") s.forced_open = true;
  if (alarm == "held_open") s.held_open = true;
}

AssistView DoorStateTracker::view(const State& s) const {
  AssistView v;
  v.lock = s.lock;
  v.contact = s.contact;
  v.beam = s.beam;
  v.recent.assign(s.recent.begin(), s.recent.end());
  v.forced_open = s.forced_open;
  v.held_open = s.held_open;
  std::uint64_t total = 0, denied = 0;
  for (const auto& b : s.hours) {
    // The current hour and the 23 before it: the last 23 to 24 hours.
    if (in_last_day(b.hour)) {
      total += b.total;
      denied += b.denied;
    }
  }
  v.decisions_24h = total;
  v.failure_rate_24h = total == 0 ? 0.0 : static_cast<double>(denied) / static_cast<double>(total);
  if (v.beam == BeamState::kBlocked) {
    v.force_unlock_allowed = false;
    v.reason = "the door's beam is blocked";
  } else if (v.failure_rate_24h > kMaxFailureRateForUnlock) {
    v.force_unlock_allowed = false;
    v.reason = "failure rate over the last 24 h is above 12 %";
  }
  return v;
}

std::vector<DoorHistory> DoorStateTracker::history() const {
  std::lock_guard lock(mu_);
  std::vector<DoorHistory> out;
  for (const auto& [id, s] : doors_) {
    DoorHistory h{s.site, s.id, {}, {s.recent.begin(), s.recent.end()}};
    for (const auto& b : s.hours) {
      if (in_last_day(b.hour) && b.total > 0) h.hours.push_back(b);
    }
    std::ranges::sort(h.hours, {}, &DecisionHour::hour);
    if (!h.hours.empty() || !h.recent.empty()) out.push_back(std::move(h));
  }
  return out;
}

void DoorStateTracker::restore_history(const DoorInfo& door, const DoorHistory& saved) {
  std::lock_guard lock(mu_);
  State& s = state_for(door);
  for (const auto& saved_hour : saved.hours) {
    if (!in_last_day(saved_hour.hour)) continue;
    auto& slot = hour_slot(s, saved_hour.hour);
    slot.total += saved_hour.total;
    slot.denied += std::min(saved_hour.denied, saved_hour.total);
  }
  // Passages of this process (none, at start) stay newest.
  s.recent.insert(s.recent.end(), saved.recent.begin(), saved.recent.end());
  while (s.recent.size() > kRecentPassages) s.recent.pop_back();
}

AssistView DoorStateTracker::assist(std::string_view door) const {
  std::lock_guard lock(mu_);
  auto it = doors_.find(std::string(door));
  if (it == doors_.end()) return view(State{});
  return view(it->second);
}

std::string DoorStateTracker::assist_json(std::string_view door) const {
  AssistView v = assist(door);
  json::object o;
  o["lock"] = lock_name(v.lock);
  o["contact"] = contact_name(v.contact);
  o["beam"] = beam_name(v.beam);
  json::array recent;
  for (const auto& p : v.recent) {
    recent.push_back(json::object{{"ts", format_utc(p.ts)},
                                  {"user", p.user},
                                  {"dir", direction_name(p.dir)},
                                  {"trace_id", p.trace_id}});
  }
  o["recent"] = std::move(recent);
  o["failure_rate_24h"] = v.failure_rate_24h;
  o["decisions_24h"] = v.decisions_24h;
  o["force_unlock_allowed"] = v.force_unlock_allowed;
  o["reason"] = v.reason.empty() ? json::value(nullptr) : json::value(v.reason);
  o["alarms"] = json::object{{"forced_open", v.forced_open}, {"held_open", v.held_open}};
  return json::serialize(o);
}

}  // namespace castellan::devices
