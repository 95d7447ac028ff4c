#include "access/card_table.hpp"

#include <cstring>

namespace castellan::access {

void CardTable::reserve(std::size_t expected) {
  records_.reserve(expected);
  std::size_t cap = 16;
  while (cap < expected * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  slots_.assign(cap, 0);
  mask_ = cap - 1;
  for (std::uint32_t i = 0; i < records_.size(); ++i) {
    std::uint64_t pos = slot_hash(records_[i].hash) & mask_;
    while (slots_[pos] != 0) pos = (pos + 1) & mask_;
    slots_[pos] = i + 1;
  }
}

void CardTable::grow() {
  reserve(std::max<std::size_t>(records_.size() + 1, slots_.size()));
}

void CardTable::insert(const CardRecord& record) {
  if ((records_.size() + 1) * 2 > slots_.size()) grow();
  std::uint64_t pos = slot_hash(record.hash) & mask_;
  while (slots_[pos] != 0) {
    CardRecord& existing = records_[slots_[pos] - 1];
    if (existing.hash == record.hash) {
      existing = record;
      return;
    }
    pos = (pos + 1) & mask_;
  }
  records_.push_back(record);
  slots_[pos] = static_cast<std::uint32_t>(records_.size());
}

const CardRecord* CardTable::find(const CardHash& hash) const {
  if (slots_.empty()) return nullptr;
  std::uint64_t pos = slot_hash(hash) & mask_;
  while (std::uint32_t s = slots_[pos]) {
    const CardRecord& r = records_[s - 1];
    if (std::memcmp(r.hash.data(), hash.data(), hash.size()) == 0) return &r;
    pos = (pos + 1) & mask_;
  }
  return nullptr;
}

std::size_t CardTable::memory_bytes() const {
  return records_.capacity() * sizeof(CardRecord) + slots_.capacity() * sizeof(std::uint32_t);
}

}  // namespace castellan::access
