#include "store/store_probe.hpp"

#include "core/thread_name.hpp"
#include "runtime/thread_task.hpp"

namespace castellan::store {
namespace {

std::int64_t micros(Clock::Monotonic t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

StoreProbe::StoreProbe(Store& store, const Clock& clock, std::chrono::milliseconds interval,
                       runtime::TaskRegistry* tasks)
    : store_(store), clock_(clock), interval_(interval) {
  thread_ = std::thread([this, tasks] {
    name_this_thread("store-probe");
    const runtime::ThreadTask task(tasks, "store probe", "store");
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      asked_at_us_ = micros(clock_.monotonic());
      bool ok = false;
      {
        const runtime::WaitMarker asking(task.ref(), "store probe: ask the store");
        ok = store_.revision().ok();
      }
      answered_ok_ = ok;
      answered_at_us_ = micros(clock_.monotonic());
      lock.lock();
      const runtime::WaitMarker idle(task.ref(), "store probe: next question",
                                     runtime::WaitKind::kIdle);
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

StoreProbe::~StoreProbe() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

bool StoreProbe::up() const {
  const std::int64_t answered = answered_at_us_.load();
  if (answered == 0) return false;  // not asked yet
  const std::int64_t asked = asked_at_us_.load();
  const std::int64_t limit =
      3 * std::chrono::duration_cast<std::chrono::microseconds>(interval_).count();
  // A question still out for too long: the store does not answer.
  if (asked > answered && micros(clock_.monotonic()) - asked > limit) return false;
  return answered_ok_.load();
}

}  // namespace castellan::store
