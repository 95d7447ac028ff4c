// Blocked-time tracking. A task body spawned with the TaskRef overload of TaskGroup::spawn
// wraps an await in a WaitMarker:
//
//   WaitMarker wait(self, "mqtt publish");
//   co_await client.publish(...);
//
// The marker writes "waiting on <what> since <t>" into the task's registry entry and, when it
// ends, records progress. Cost: two clock reads and a few relaxed/release atomic stores, no
// lock and no allocation (bench/runtime_bench.cpp measures it). Markers nest: the inner one
// restores the outer wait when it ends.
//
// With the production SystemClock the reads use CLOCK_MONOTONIC_COARSE (the same clock as
// steady_clock at tick resolution, a few ms; about 5 ns instead of 25 ns per read): blocked
// time is about waits of milliseconds to minutes, so the tick is resolution enough. Any other
// Clock (FakeClock in tests) is read through Clock::monotonic().
#pragma once

#include <time.h>

#include <chrono>

#include "core/clock.hpp"
#include "runtime/task_entry.hpp"

namespace castellan::runtime {

// A handle to the running task's own registry entry, valid inside the task body. A default
// TaskRef (no task) makes markers no-ops, so helpers can take one optionally.
class TaskRef {
 public:
  TaskRef() = default;
  TaskRef(TaskEntry* entry, const Clock* clock)
      : entry_(entry), clock_(clock), coarse_(clock == &SystemClock::instance()) {}

  explicit operator bool() const { return entry_ != nullptr; }
  TaskId id() const { return entry_ ? entry_->id : 0; }
  // Marks progress without a wait (e.g. once per loop iteration).
  void progress() const;

  TaskEntry* entry() const { return entry_; }
  const Clock* clock() const { return clock_; }
  // Monotonic µs on the registry's time line (coarse for the SystemClock, see above).
  std::int64_t now_us() const {
    if (coarse_) {
      timespec ts{};
      ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
      return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(
               clock_->monotonic().time_since_epoch())
        .count();
  }

 private:
  TaskEntry* entry_ = nullptr;
  const Clock* clock_ = nullptr;
  bool coarse_ = false;
};

class WaitMarker {
 public:
  // `what` must have static storage (a string literal): only the pointer is stored.
  WaitMarker(TaskRef task, const char* what, WaitKind kind = WaitKind::kBounded) noexcept
      : task_(task) {
    TaskEntry* e = task_.entry();
    if (!e) return;
    previous_ = e->wait();  // this thread is the only writer: never a torn read
    e->set_wait({what, kind, task_.now_us()});
  }
  ~WaitMarker() {
    TaskEntry* e = task_.entry();
    if (!e) return;
    e->last_progress_us.store(task_.now_us(), std::memory_order_relaxed);
    // Restoring an outer wait keeps its original start: the outer await is still in progress.
    e->set_wait(previous_);
  }
  WaitMarker(const WaitMarker&) = delete;
  WaitMarker& operator=(const WaitMarker&) = delete;

 private:
  TaskRef task_;
  TaskEntry::Wait previous_;
};

}  // namespace castellan::runtime
