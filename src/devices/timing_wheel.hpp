// A hashed timing wheel (Varghese & Lauck): O(1) schedule, O(expired + slot size) advance.
// Time is measured in whole ticks since `origin`; an entry due at tick t lives in slot
// t % slots and fires on the first advance() that reaches tick t. Entries due more than one
// revolution ahead stay in their slot until their tick comes round. Not thread-safe: the owner
// locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"

namespace castellan::devices {

class TimingWheel {
 public:
  using Ticks = std::int64_t;

  TimingWheel(std::chrono::microseconds tick, std::size_t slots, Clock::Monotonic origin)
      : tick_(tick), origin_(origin), slots_(slots) {}

  // The first tick at or after `t` (an entry fires no earlier than its deadline).
  Ticks tick_at_or_after(Clock::Monotonic t) const {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - origin_).count();
    if (us <= 0) return 0;
    return (us + tick_.count() - 1) / tick_.count();
  }
  // The last tick at or before `t`.
  Ticks tick_at_or_before(Clock::Monotonic t) const {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - origin_).count();
    return us <= 0 ? 0 : us / tick_.count();
  }
  Clock::Monotonic time_of(Ticks t) const { return origin_ + tick_ * t; }

  // Schedules `id` to fire at `deadline` (never before the current tick + 1).
  void schedule(std::uint32_t id, Clock::Monotonic deadline) {
    Ticks due = std::max(tick_at_or_after(deadline), current_ + 1);
    slots_[static_cast<std::size_t>(due) % slots_.size()].push_back(Entry{id, due});
    ++size_;
  }

  // Advances to the tick of `now`, calling fire(id) for every entry that came due, in tick
  // order. fire() may call schedule().
  template <class Fire>
  void advance(Clock::Monotonic now, Fire&& fire) {
    Ticks target = tick_at_or_before(now);
    // After a long pause, one revolution visits every slot; later ticks add nothing new.
    if (target - current_ > static_cast<Ticks>(slots_.size())) {
      current_ = target - static_cast<Ticks>(slots_.size());
    }
    while (current_ < target) {
      ++current_;
      auto& slot = slots_[static_cast<std::size_t>(current_) % slots_.size()];
      std::vector<Entry> due;
      std::size_t keep = 0;
      for (auto& e : slot) {
        if (e.due <= target) {
          due.push_back(e);
        } else {
          slot[keep++] = e;
        }
      }
      slot.resize(keep);
      size_ -= due.size();
      for (const auto& e : due) fire(e.id);
    }
  }

  std::size_t size() const { return size_; }
  Ticks current() const { return current_; }

 private:
  struct Entry {
    std::uint32_t id;
    Ticks due;
  };
  std::chrono::microseconds tick_;
  Clock::Monotonic origin_;
  std::vector<std::vector<Entry>> slots_;
  Ticks current_ = 0;
  std::size_t size_ = 0;
};

}  // namespace castellan::devices
