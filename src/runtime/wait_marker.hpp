// Blocked-time tracking. A task body spawned with the TaskRef overload of TaskGroup::spawn
// wraps an await in a WaitMarker:
//
//   WaitMarker wait(self, "mqtt publish");
//   co_await client.publish(...);
//
// The marker writes "waiting on <what> since <t>" into the task's registry entry and, when it
// ends, records progress. Cost: two Clock::monotonic() reads and a few relaxed/release atomic
// stores, no lock and no allocation (bench/runtime_bench.cpp measures it). Markers nest: the
// inner one restores the outer wait when it ends.
#pragma once

#include "runtime/task_registry.hpp"

namespace castellan::runtime {

// A handle to the running task's own registry entry, valid inside the task body. A default
// TaskRef (no task) makes markers no-ops, so helpers can take one optionally.
class TaskRef {
 public:
  TaskRef() = default;
  TaskRef(TaskEntry* entry, const Clock* clock) : entry_(entry), clock_(clock) {}

  explicit operator bool() const { return entry_ != nullptr; }
  TaskId id() const { return entry_ ? entry_->id : 0; }
  // Marks progress without a wait (e.g. once per loop iteration).
  void progress() const;

  TaskEntry* entry() const { return entry_; }
  const Clock* clock() const { return clock_; }

 private:
  TaskEntry* entry_ = nullptr;
  const Clock* clock_ = nullptr;
};

class WaitMarker {
 public:
  // `what` must have static storage (a string literal): only the pointer is stored.
  WaitMarker(TaskRef task, const char* what, WaitKind kind = WaitKind::kBounded) noexcept;
  ~WaitMarker();
  WaitMarker(const WaitMarker&) = delete;
  WaitMarker& operator=(const WaitMarker&) = delete;

 private:
  TaskRef task_;
  const char* previous_what_ = nullptr;
  std::int64_t previous_since_us_ = 0;
  WaitKind previous_kind_ = WaitKind::kBounded;
};

}  // namespace castellan::runtime
