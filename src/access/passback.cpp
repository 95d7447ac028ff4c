#include "access/passback.hpp"

#include <cstring>

namespace castellan::access {

std::string AntiPassbackTracker::key(std::string_view site, const CardHash& card) {
  std::string k(site);
  k.push_back('\0');
  k.append(reinterpret_cast<const char*>(card.data()), card.size());
  return k;
}

AntiPassbackTracker::Shard& AntiPassbackTracker::shard_for(const CardHash& card) const {
  return shards_[card[0] % shards_.size()];
}

bool AntiPassbackTracker::with_position(std::string_view site, const CardHash& card, TimePoint now,
                                        std::chrono::hours reset, Direction dir,
                                        const std::function<bool(bool inside)>& decide_grant,
                                        PositionChange* change) {
  Shard& s = shard_for(card);
  std::string k = key(site, card);
  std::lock_guard lock(s.mu);
  auto it = s.entered_at_us.find(k);
  bool inside = false;
  std::optional<std::int64_t> before;
  if (it != s.entered_at_us.end()) {
    auto age = std::chrono::microseconds(to_unix_us(now) - it->second);
    inside = age < reset;
    before = it->second;
  }
  if (!decide_grant(inside)) return false;
  std::optional<std::int64_t> after;
  if (dir == Direction::in) {
    after = s.entered_at_us[k] = to_unix_us(now);
  } else if (it != s.entered_at_us.end()) {
    s.entered_at_us.erase(it);
  }
  if (change) *change = PositionChange{before, after};
  return true;
}

void AntiPassbackTracker::restore(std::string_view site, const CardHash& card,
                                  const PositionChange& change) {
  Shard& s = shard_for(card);
  std::string k = key(site, card);
  std::lock_guard lock(s.mu);
  auto it = s.entered_at_us.find(k);
  const std::optional<std::int64_t> now =
      it == s.entered_at_us.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
  if (now != change.after) return;  // moved by a later swipe: that one stands
  if (change.before) {
    s.entered_at_us[k] = *change.before;
  } else if (it != s.entered_at_us.end()) {
    s.entered_at_us.erase(it);
  }
}

bool AntiPassbackTracker::is_inside(std::string_view site, const CardHash& card, TimePoint now,
                                    std::chrono::hours reset) const {
  Shard& s = shard_for(card);
  std::lock_guard lock(s.mu);
  auto it = s.entered_at_us.find(key(site, card));
  return it != s.entered_at_us.end() &&
         std::chrono::microseconds(to_unix_us(now) - it->second) < reset;
}

void AntiPassbackTracker::clear() {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    s.entered_at_us.clear();
  }
}

}  // namespace castellan::access
