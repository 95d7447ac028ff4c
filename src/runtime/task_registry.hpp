// TaskRegistry: the thread-safe list of every live task (contract §7). TaskGroup adds a task
// when it spawns it and removes it when the task's coroutine frame is destroyed, whatever the
// reason (return, exception, cancellation, io_context destruction). The registry is what
// /v1/debug/tasks, the SLIs and the leak detector read.
//
// Locking: add/remove/snapshot take one mutex. The per-task fields that change while a task
// runs (waiting on what since when, last progress) are atomics inside the entry, so that the
// blocked-time marker (wait_marker.hpp) never locks. Asio-free on purpose: cheap to include.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "runtime/task_entry.hpp"

namespace castellan::runtime {

struct TaskOptions {
  // A daemon lives as long as the process by design (journal flusher, MQTT loop, sampler);
  // the leak rules count only non-daemon tasks.
  bool daemon = false;
  // A thread of its own (ThreadTask), stopped by the object that owns it, not by a TaskGroup.
  bool thread = false;
};

// "file:line function" of a std::source_location, with the file path shortened to start at
// "src/", "tests/" or "bench/" when it contains one.
std::string format_spawn_site(const std::source_location& loc);
std::string format_spawn_site(std::string_view file, int line, std::string_view function);

// A copy of one entry at snapshot time; durations are relative to the snapshot's now.
struct TaskInfo {
  TaskId id = 0;
  std::string name;
  std::string group;
  std::string spawn_site;
  bool daemon = false;
  bool thread = false;  // TaskOptions::thread
  std::chrono::microseconds age{0};
  std::chrono::microseconds since_progress{0};
  std::string waiting_on;  // empty: running (not inside a WaitMarker)
  WaitKind wait_kind = WaitKind::kBounded;
  std::chrono::microseconds waiting_for{0};
};

class TaskRegistry {
 public:
  explicit TaskRegistry(const Clock& clock);
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;

  // Registers a task; the returned entry stays valid while the caller holds it.
  std::shared_ptr<TaskEntry> add(std::string name, std::string group,
                                 const std::source_location& loc, TaskOptions options);
  // The same with the spawn site already formatted ("file:line function").
  std::shared_ptr<TaskEntry> add(std::string name, std::string group, std::string spawn_site,
                                 TaskOptions options);
  void remove(TaskId id);

  std::vector<TaskInfo> snapshot() const;
  std::size_t active_count() const;
  std::size_t non_daemon_count() const;
  // Non-daemon tasks older than `min_age`: the population the leak rules watch (tasks that
  // finish within one sample interval never count).
  std::size_t settled_non_daemon_count(std::chrono::microseconds min_age) const;
  // Nearest-rank p99 of how long tasks have been inside their current bounded wait, in
  // seconds; 0 when no task is waiting.
  double blocked_p99_seconds() const;

  const Clock& clock() const { return clock_; }
  std::int64_t now_us() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  TaskId next_id_ = 1;
  std::unordered_map<TaskId, std::shared_ptr<TaskEntry>> tasks_;
};

}  // namespace castellan::runtime
