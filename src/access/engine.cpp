#include "access/engine.hpp"

#include <algorithm>

#include "access/schedule_eval.hpp"

namespace castellan::access {

namespace {

// The better (earlier in contract §4) of two deny codes.
Code first_of(Code a, Code b) {
  return precedence_rank(b) < precedence_rank(a) ? b : a;
}

bool contains(const std::vector<std::uint32_t>& sorted, std::uint32_t v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

// Evaluates the card (not the pass) against the door: OK or its deny reason.
Code check_card(const Snapshot& s, const CardRecord& card, std::uint32_t door,
                const SiteEntry& site, std::int64_t now_us) {
  if (card.status != CardStatus::active) return Code::ERR_CARD_REVOKED;
  const UserEntry& user = s.users[card.user];
  if (user.suspended) return Code::ERR_USER_SUSPENDED;
  if (now_us < card.valid_from_us) return Code::ERR_CARD_NOT_YET_VALID;
  if (now_us >= card.valid_until_us) return Code::ERR_CARD_EXPIRED;
  bool door_in_some_group = false;
  bool have_local = false;
  LocalMoment local;
  for (std::uint32_t i = 0; i < user.groups_count; ++i) {
    const GroupEntry& g = s.groups[s.user_groups[user.groups_begin + i]];
    if (!contains(g.doors, door)) continue;
    door_in_some_group = true;
    if (g.schedule == -1) return Code::OK;
    if (g.schedule < 0) continue;  // dangling schedule: never
    if (!have_local) {
      local = to_local(*site.zone, from_unix_us(now_us));
      have_local = true;
    }
    if (schedule_allows(s.schedules[g.schedule], site.holidays, local)) return Code::OK;
  }
  return door_in_some_group ? Code::ERR_OUTSIDE_SCHEDULE : Code::ERR_NO_ACCESS;
}

Code check_pass(const PassEntry& p, std::uint32_t door, TimePoint now) {
  if (now < p.pass.valid_from) return Code::ERR_CARD_NOT_YET_VALID;
  if (now >= p.pass.valid_until) return Code::ERR_CARD_EXPIRED;
  if (p.counter->used() >= p.pass.max_uses) return Code::ERR_PASS_EXHAUSTED;
  if (!contains(p.doors, door)) return Code::ERR_NO_ACCESS;
  return Code::OK;
}

}  // namespace

bool grants_on_failure(Code code, FailMode mode) {
  return mode == FailMode::safe && (code == Code::ERR_UNAVAILABLE || code == Code::ERR_TIMEOUT);
}

DecisionResult DecisionEngine::decide(const DecisionRequest& request) {
  std::shared_ptr<const Snapshot> snapshot = snapshots_.load();
  return decide(*snapshot, request);
}

bool DecisionEngine::in_lockdown(std::string_view site, std::string_view door) const {
  std::shared_ptr<const Snapshot> snapshot = snapshots_.load();
  const Door* d = snapshot->find_door(door);
  return d != nullptr && d->site == site && snapshot->in_lockdown(*d);
}

DecisionResult DecisionEngine::decide(const Snapshot& s, const DecisionRequest& req) {
  DecisionResult out;
  out.card_hash = req.card_hash;
  out.snapshot_version = s.version;
  out.code = Code::ERR_DOOR_UNKNOWN;
  s.cards.prefetch(req.card_hash);

  auto door_it = s.door_index.find(req.door);
  if (door_it == s.door_index.end()) return out;
  std::uint32_t door_index = door_it->second;
  const DoorEntry& door = s.doors[door_index];
  const SiteEntry& site = s.sites[door.site_index];
  if (door.door.site != req.site) return out;
  out.unlock_ms = door.door.unlock_ms;
  out.fail_mode = door.door.fail_mode;
  out.fail_safe = door.door.fail_mode == FailMode::safe;

  if (door.door.lockdown || site.site.lockdown) {
    out.code = Code::ERR_DOOR_LOCKDOWN;
    return out;
  }

  const std::int64_t now_us = to_unix_us(req.now);
  const CardRecord* card = s.cards.find(req.card_hash);
  Code best = Code::ERR_CARD_UNKNOWN;  // stays if there is no credential at all
  bool have_credential = false;
  bool card_grants = false;
  if (card != nullptr) {
    have_credential = true;
    out.user = s.users[card->user].id;
    best = check_card(s, *card, door_index, site, now_us);
    card_grants = best == Code::OK;
    // A revoked or lost token, or a suspended holder, stops the card itself: no pass issued on
    // the same uid may open a door for it (§4 ranks 40303 and 40310 before every pass code).
    if (best == Code::ERR_CARD_REVOKED || best == Code::ERR_USER_SUSPENDED) {
      out.code = best;
      return out;
    }
  }
  const PassEntry* pass = nullptr;
  if (!card_grants && !s.passes_by_hash.empty()) {
    for (std::uint32_t pi : s.passes_for(req.card_hash)) {
      // A pass for other doors says nothing about this one, so it never replaces the card's
      // own answer here: a card outside its schedule stays 40306, not 40305 ("no group or pass
      // grants this door", which a group does) nor the other pass's 40301/40308. Without a
      // card, the passes are all there is and rank as before (protocol.md).
      if (card != nullptr && !contains(s.passes[pi].doors, door_index)) continue;
      Code c = check_pass(s.passes[pi], door_index, req.now);
      if (c == Code::OK) {
        pass = &s.passes[pi];
        best = Code::OK;
        break;
      }
      best = have_credential ? first_of(best, c) : c;
      have_credential = true;
    }
  }
  if (best != Code::OK) {
    out.code = best;
    return out;
  }

  // A credential grants. Take a pass use (if a pass grants) and apply anti-passback together,
  // so a denied passback swipe does not burn a use and racing swipes cannot overshoot.
  auto take = [&](bool inside) {
    if (inside && req.dir == Direction::in) {
      out.code = Code::ERR_ANTI_PASSBACK;
      return false;
    }
    if (pass != nullptr) {
      out.pass_use = pass->counter->try_consume(pass->pass.max_uses);
      // A racing swipe of the same uid took the chosen pass's last use since it was checked:
      // any other of its passes that grants here will do.
      for (std::uint32_t pi : s.passes_for(req.card_hash)) {
        if (out.pass_use != 0) break;
        const PassEntry& other = s.passes[pi];
        if (&other == pass || check_pass(other, door_index, req.now) != Code::OK) continue;
        out.pass_use = other.counter->try_consume(other.pass.max_uses);
        if (out.pass_use != 0) pass = &other;
      }
      if (out.pass_use == 0) {
        out.code = Code::ERR_PASS_EXHAUSTED;
        return false;
      }
    }
    out.code = Code::OK;
    return true;
  };
  bool granted = false;
  if (door.door.apb) {
    PositionChange change;
    granted = passback_.with_position(site.site.id, req.card_hash, req.now,
                                      std::chrono::hours(site.site.apb_reset_hours), req.dir, take,
                                      &change);
    if (granted) out.taken.position = change;
  } else {
    granted = take(false);
  }
  out.granted = granted;
  if (granted && pass != nullptr) {
    out.pass_id = pass->pass.id;
    out.taken.pass_use = pass->counter;
  }
  if (granted) {
    out.taken.site = site.site.id;
    out.taken.card_hash = req.card_hash;
  }
  return out;
}

void DecisionEngine::give_back(const Taken& t) {
  if (t.pass_use) t.pass_use->give_back();
  if (t.position) passback_.restore(t.site, t.card_hash, *t.position);
}

}  // namespace castellan::access
