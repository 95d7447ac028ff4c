// CardTable: the compact card index of a snapshot. Dense 56-byte records plus an
// open-addressing table of 32-bit slots keyed by the card hash (an HMAC output, so its first
// 8 bytes are already a uniform hash). About 64 bytes per card at 1M cards.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "access/model.hpp"

namespace castellan::access {

struct CardRecord {
  CardHash hash{};
  std::uint32_t user = 0;  // index into Snapshot::users
  CardStatus status = CardStatus::active;
  std::int64_t valid_from_us = std::numeric_limits<std::int64_t>::min();
  std::int64_t valid_until_us = std::numeric_limits<std::int64_t>::max();
};

class CardTable {
 public:
  // Sizes the slot table for `expected` cards (load factor <= 0.5).
  void reserve(std::size_t expected);
  // Adds a record; a second record with the same hash replaces the first.
  void insert(const CardRecord& record);
  const CardRecord* find(const CardHash& hash) const;
  // Starts loading the hash's first slot into cache, so that the miss overlaps other work
  // (the engine calls it before looking up the door).
  void prefetch(const CardHash& hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_hash(hash) & mask_]);
  }
  std::size_t size() const { return records_.size(); }
  std::size_t memory_bytes() const;

 private:
  static std::uint64_t slot_hash(const CardHash& h) {
    std::uint64_t x = 0;
    std::memcpy(&x, h.data(), sizeof x);  // HMAC output: already uniformly distributed
    return x;
  }
  void grow();

  std::vector<CardRecord> records_;
  std::vector<std::uint32_t> slots_;  // index + 1; 0 = empty
  std::uint64_t mask_ = 0;
};

}  // namespace castellan::access
