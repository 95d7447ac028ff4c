#include "access/pass_ledger.hpp"

namespace castellan::access {

std::uint32_t PassCounter::try_consume(std::uint32_t max_uses) {
  std::uint32_t used = used_.load(std::memory_order_relaxed);
  while (used < max_uses) {
    if (used_.compare_exchange_weak(used, used + 1, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      owner_.mark_dirty(*this);
      return used + 1;
    }
  }
  return 0;
}

void PassCounter::give_back() {
  std::uint32_t used = used_.load(std::memory_order_relaxed);
  while (used > 0) {
    if (used_.compare_exchange_weak(used, used - 1, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      owner_.mark_dirty(*this);
      return;
    }
  }
}

std::shared_ptr<PassCounter> PassUseLedger::counter(const std::string& pass_id) {
  std::lock_guard lock(mu_);
  auto& slot = counters_[pass_id];
  if (!slot) slot = std::make_shared<PassCounter>(*this, pass_id);
  return slot;
}

std::uint32_t PassUseLedger::used(std::string_view pass_id) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(std::string(pass_id));
  return it == counters_.end() ? 0 : it->second->used();
}

void PassUseLedger::load(const std::vector<PassUse>& uses) {
  std::lock_guard lock(mu_);
  for (const PassUse& u : uses) raise_locked(u);
}

PassUseLedger::Recovered PassUseLedger::recover(const std::vector<PassUse>& uses) {
  std::lock_guard lock(mu_);
  Recovered out;
  for (const PassUse& u : uses) {
    const std::uint32_t added = raise_locked(u);
    if (added == 0) continue;
    std::uint32_t& pending = dirty_[u.pass_id];
    pending = std::max(pending, u.used);
    ++out.passes;
    out.uses += added;
  }
  return out;
}

std::uint32_t PassUseLedger::raise_locked(const PassUse& u) {
  auto& slot = counters_[u.pass_id];
  if (!slot) slot = std::make_shared<PassCounter>(*this, u.pass_id);
  std::uint32_t cur = slot->used_.load();
  while (cur < u.used) {
    if (slot->used_.compare_exchange_weak(cur, u.used)) return u.used - cur;
  }
  return 0;
}

void PassUseLedger::mark_dirty(const PassCounter& counter) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    // Read under the lock: a later call always records a count at least as recent.
    dirty_[counter.pass_id()] = counter.used();
    notify = on_dirty_;
  }
  if (notify) notify();
}

std::vector<PassUse> PassUseLedger::take_dirty() {
  std::lock_guard lock(mu_);
  std::vector<PassUse> out;
  out.reserve(dirty_.size());
  for (auto& [id, used] : dirty_) out.push_back(PassUse{id, used});
  dirty_.clear();
  return out;
}

void PassUseLedger::restore_dirty(const std::vector<PassUse>& uses) {
  std::lock_guard lock(mu_);
  // A count marked since the failed save is newer (a use taken or given back): it stays.
  for (const PassUse& u : uses) dirty_.try_emplace(u.pass_id, u.used);
}

void PassUseLedger::set_on_dirty(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  on_dirty_ = std::move(callback);
}

void PassUseLedger::erase(const std::string& pass_id) {
  std::lock_guard lock(mu_);
  counters_.erase(pass_id);
  dirty_.erase(pass_id);
}

}  // namespace castellan::access
