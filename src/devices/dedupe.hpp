// DedupeTable: the answer given to each (site, door, req) for the de-duplication window
// (decision.dedupe_window_s, 60 s). QoS 1 may deliver a swipe twice; the second copy must get
// the same decision and must not be decided or journaled again — also when it arrives while
// the first is still being decided (it then waits for the first one's answer).
//
// Entries expire in arrival order (a FIFO of keys), so expiry is O(expired). The table is
// bounded: past `max_entries`, the oldest finished entries are dropped early. Not thread-safe:
// the owner locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"

namespace castellan::devices {

template <class Outcome, class Context>
class DedupeTable {
 public:
  enum class State { kNew, kInFlight, kDone };

  struct Entry {
    State state = State::kInFlight;
    Clock::Monotonic first_seen{};
    std::uint32_t waiting_duplicates = 0;  // copies that arrived while in flight
    std::optional<Outcome> outcome;        // set once done
    std::shared_ptr<Context> context;
  };

  DedupeTable(std::chrono::milliseconds window, std::size_t max_entries)
      : window_(window), max_entries_(max_entries) {}

  // kNew: inserted as in flight with `context` (the caller decides). kInFlight: counted as a
  // waiting duplicate. kDone: *entry_out is the finished entry (answer it again).
  State begin(const std::string& key, Clock::Monotonic now, std::shared_ptr<Context> context,
              const Entry** entry_out) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.state == State::kInFlight) {
        ++it->second.waiting_duplicates;
        return State::kInFlight;
      }
      *entry_out = &it->second;
      return State::kDone;
    }
    if (entries_.size() >= max_entries_) evict_oldest_done();
    entries_.emplace(key, Entry{State::kInFlight, now, 0, std::nullopt, std::move(context)});
    order_.push_back(key);
    return State::kNew;
  }

  // Marks the key done, if `owner` began it. Returns the entry (with the number of waiting
  // duplicates), or null if it was already done (a timeout answered first), or is gone, or
  // belongs to a later swipe with the same key (this one's was dropped and the key begun again).
  Entry* finish(const std::string& key, const Context* owner, Outcome outcome) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.state != State::kInFlight ||
        it->second.context.get() != owner) {
      return nullptr;
    }
    it->second.state = State::kDone;
    it->second.outcome = std::move(outcome);
    return &it->second;
  }

  // Makes the finished entry of `key` in flight again, owned by `context`: its answer changes
  // and must be on record before it is given. Copies that arrive meanwhile wait for finish().
  void reopen(const std::string& key, std::shared_ptr<Context> context) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    it->second.state = State::kInFlight;
    it->second.outcome.reset();
    it->second.waiting_duplicates = 0;
    it->second.context = std::move(context);
  }

  // Adds a finished entry first seen at `first_seen` (an answer given before a restart), unless
  // the key is known. Seed oldest first, before any begin(): expiry takes keys in that order.
  void seed(const std::string& key, Clock::Monotonic first_seen, Outcome outcome,
            std::shared_ptr<Context> context) {
    if (entries_.contains(key)) return;
    if (entries_.size() >= max_entries_) evict_oldest_done();
    entries_.emplace(key,
                     Entry{State::kDone, first_seen, 0, std::move(outcome), std::move(context)});
    order_.push_back(key);
  }

  Entry* find(const std::string& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

  // Drops finished entries older than the window. An entry still in flight stays (its
  // decision's own deadline finishes it first).
  void expire(Clock::Monotonic now) {
    while (!order_.empty()) {
      auto it = entries_.find(order_.front());
      if (it == entries_.end()) {
        order_.pop_front();
        continue;
      }
      if (now - it->second.first_seen < window_ || it->second.state == State::kInFlight) return;
      entries_.erase(it);
      order_.pop_front();
    }
  }

  std::size_t size() const { return entries_.size(); }
  std::uint64_t evicted_early() const { return evicted_early_; }

 private:
  void evict_oldest_done() {
    while (!order_.empty() && entries_.size() >= max_entries_) {
      auto it = entries_.find(order_.front());
      if (it != entries_.end() && it->second.state == State::kInFlight) return;
      if (it != entries_.end()) {
        entries_.erase(it);
        ++evicted_early_;
      }
      order_.pop_front();
    }
  }

  std::chrono::milliseconds window_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;
  std::uint64_t evicted_early_ = 0;
};

}  // namespace castellan::devices
