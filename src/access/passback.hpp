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
// enough to put it back if the door never received the grant. `moves` counts the granted swipes
// that set the position, so that an undo never takes back a later swipe that left the same
// position (two exits in a row both leave "outside").
struct PositionChange {
  std::optional<std::int64_t> before;
  std::optional<std::int64_t> after;
  std::uint64_t moves_before = 0;
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
  struct Position {
    std::optional<std::int64_t> entered_at_us;  // none: outside (it left through an apb door)
    std::uint64_t moves = 0;                    // granted swipes that set it (see restore)
  };
  struct Shard {
    mutable std::mutex mu;
    // Key: site '\0' hash. A card that left keeps its entry (about 100 bytes) so that a later
    // undo can tell its exit from an earlier one.
    std::unordered_map<std::string, Position> positions;
  };
  static std::string key(std::string_view site, const CardHash& card);
  Shard& shard_for(const CardHash& card) const;

  mutable std::array<Shard, 64> shards_;
};

}  // namespace castellan::access
