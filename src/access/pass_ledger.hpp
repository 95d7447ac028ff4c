// Use counts of temporary passes: the small mutable state next to the immutable snapshot.
// Each pass has one PassCounter for the life of the process, shared by every snapshot that
// contains the pass, so a snapshot rebuild never resets or forks a count. A use is taken with a
// compare-and-swap, so a pass with N uses grants exactly N times however many threads race.
// Used counts are persisted by someone else (store/PassUseFlusher): consume() only marks the
// pass dirty and pokes a callback; it does no I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace castellan::access {

struct PassUse {
  std::string pass_id;
  std::uint32_t used = 0;
};

class PassUseLedger;

class PassCounter {
 public:
  PassCounter(PassUseLedger& owner, std::string pass_id)
      : owner_(owner), pass_id_(std::move(pass_id)) {}
  std::uint32_t used() const { return used_.load(std::memory_order_acquire); }
  const std::string& pass_id() const { return pass_id_; }
  // Takes one use if fewer than max_uses were taken and returns its number (1 = the first);
  // 0 when exhausted.
  std::uint32_t try_consume(std::uint32_t max_uses);
  // Returns a use taken by a grant that the door never received (the answer became a
  // fail-secure 50301/50401 deny).
  void give_back();

 private:
  friend class PassUseLedger;
  PassUseLedger& owner_;
  std::string pass_id_;
  std::atomic<std::uint32_t> used_{0};
};

class PassUseLedger {
 public:
  // The counter of a pass, created at 0 (or at the loaded count) on first request.
  std::shared_ptr<PassCounter> counter(const std::string& pass_id);
  // Uses taken so far (0 for an unknown pass).
  std::uint32_t used(std::string_view pass_id) const;
  // Seeds counts read back from the store at start; never lowers a count.
  void load(const std::vector<PassUse>& uses);
  // Raises counts to uses found taken elsewhere (the journal) and marks the raised ones dirty,
  // so that they are saved; never lowers a count.
  struct Recovered {
    std::uint64_t passes = 0;  // counts raised
    std::uint64_t uses = 0;    // uses added over all of them
  };
  Recovered recover(const std::vector<PassUse>& uses);
  // Counts changed since the last call (one entry per pass, latest value).
  std::vector<PassUse> take_dirty();
  // Puts entries back (after a failed flush) unless a newer count is already pending.
  void restore_dirty(const std::vector<PassUse>& uses);
  // Called (without locks held) after a use is taken; must be cheap and non-blocking.
  void set_on_dirty(std::function<void()> callback);
  // Forgets a deleted pass.
  void erase(const std::string& pass_id);

 private:
  friend class PassCounter;
  void mark_dirty(const PassCounter& counter);
  // Raises the pass's counter (made if missing) to u.used; returns by how much (0: it was not
  // lower). Holds mu_.
  std::uint32_t raise_locked(const PassUse& u);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<PassCounter>> counters_;
  std::unordered_map<std::string, std::uint32_t> dirty_;
  std::function<void()> on_dirty_;
};

}  // namespace castellan::access
