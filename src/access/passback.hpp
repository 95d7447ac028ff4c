// Anti-passback positions per (site, card): after an `in` grant at an apb door the card is
// "inside" the site until an `out` grant at an apb door of that site or until the site's
// apb_reset_hours have passed. Sharded mutexes keep threads on different cards apart; the
// check and the update happen under one shard lock so two racing `in` swipes of one card
// cannot both pass.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "access/model.hpp"
#include "core/time.hpp"

namespace castellan::access {

// What a granted swipe did to a card's position (entered-at in µs since the epoch, or none):
// enough to put it back if the door never received the grant.
struct PositionChange {
  std::optional<std::int64_t> before;
  std::optional<std::int64_t> after;
};

class AntiPassbackTracker {
 public:
  // Runs `decide_grant` with the card's position locked. `inside` tells whether the card is
  // inside the site now (entered less than `reset` ago, no exit since). If `decide_grant`
  // returns true the position is updated for `dir` at `now` and, when `change` is given, what
  // was replaced is written there.
  bool with_position(std::string_view site, const CardHash& card, TimePoint now,
                     std::chrono::hours reset, Direction dir,
                     const std::function<bool(bool inside)>& decide_grant,
                     PositionChange* change = nullptr);
  // Undoes `change` unless another swipe of the card has moved the position since.
  void restore(std::string_view site, const CardHash& card, const PositionChange& change);
  bool is_inside(std::string_view site, const CardHash& card, TimePoint now,
                 std::chrono::hours reset) const;
  // Drops every position (e.g. an operator reset).
  void clear();

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::int64_t> entered_at_us;  // key: site '\0' hash
  };
  static std::string key(std::string_view site, const CardHash& card);
  Shard& shard_for(const CardHash& card) const;

  mutable std::array<Shard, 64> shards_;
};

}  // namespace castellan::access
