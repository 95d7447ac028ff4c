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
  auto it = s.positions.find(k);
  const Position before = it == s.positions.end() ? Position{} : it->second;
  const bool inside = before.entered_at_us &&
                      std::chrono::microseconds(to_unix_us(now) - *before.entered_at_us) < reset;
  if (!decide_grant(inside)) return false;
  Position& p = it == s.positions.end() ? s.positions[k] : it->second;
  p.entered_at_us =
      dir == Direction::in ? std::optional<std::int64_t>(to_unix_us(now)) : std::nullopt;
  p.moves = before.moves + 1;
  if (change) *change = PositionChange{before.entered_at_us, p.entered_at_us, before.moves};
  return true;
}

void AntiPassbackTracker::restore(std::string_view site, const CardHash& card,
                                  const PositionChange& change) {
  Shard& s = shard_for(card);
  std::lock_guard lock(s.mu);
  auto it = s.positions.find(key(site, card));
  // Moved by a later granted swipe (even to the same position): that one stands.
  if (it == s.positions.end() || it->second.moves != change.moves_before + 1) return;
  it->second = Position{change.before, change.moves_before};
}

bool AntiPassbackTracker::is_inside(std::string_view site, const CardHash& card, TimePoint now,
                                    std::chrono::hours reset) const {
  Shard& s = shard_for(card);
  std::lock_guard lock(s.mu);
  auto it = s.positions.find(key(site, card));
  return it != s.positions.end() && it->second.entered_at_us &&
         std::chrono::microseconds(to_unix_us(now) - *it->second.entered_at_us) < reset;
}

void AntiPassbackTracker::clear() {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    s.positions.clear();
  }
}

}  // namespace castellan::access
