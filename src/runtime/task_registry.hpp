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
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace castellan::runtime {

using TaskId = std::uint64_t;

struct TaskOptions {
  // A daemon lives as long as the process by design (journal flusher, MQTT loop, sampler);
  // the leak rules count only non-daemon tasks.
  bool daemon = false;
};

// What kind of wait a WaitMarker records. A bounded wait is an operation that should finish
// (it has a deadline): it counts towards blocked p99 and the stuck-task rule. An idle wait is
// waiting for outside input that may never come (next request on a keep-alive connection,
// next MQTT message): it is shown in the task dump but counts towards neither.
enum class WaitKind : std::uint8_t { kBounded, kIdle };

// "file:line function" of a std::source_location, with the file path shortened to start at
// "src/", "tests/" or "bench/" when it contains one.
std::string format_spawn_site(const std::source_location& loc);

// One live task. Owned by the registry (shared_ptr) and by the task's own frame; the mutable
// fields are atomics written by the task and read by snapshots.
struct TaskEntry {
  TaskId id = 0;
  std::string name;
  std::string group;
  std::string spawn_site;
  bool daemon = false;
  std::int64_t started_us = 0;  // Clock::monotonic(), µs
  std::atomic<std::int64_t> last_progress_us{0};

  // What the task waits on (WaitMarker), as one consistent triple.
  struct Wait {
    const char* what = nullptr;  // null: running; else a string with static storage
    WaitKind kind = WaitKind::kBounded;
    std::int64_t since_us = 0;
  };
  // Written by the task's own thread only. A seqlock: `wait_version_` is odd while the three
  // fields change, so a reader never mixes one wait's `what` with another's start or kind (a
  // wait that just ended read as "bounded, since 0" looked stuck for the machine's uptime).
  void set_wait(const Wait& w) {
    const auto v = wait_version_.load(std::memory_order_relaxed);
    wait_version_.store(v + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    waiting_on_.store(w.what, std::memory_order_relaxed);
    wait_kind_.store(w.kind, std::memory_order_relaxed);
    waiting_since_us_.store(w.since_us, std::memory_order_relaxed);
    wait_version_.store(v + 2, std::memory_order_release);
  }
  // From any thread. A wait that is changing right now (after a few tries) reads as running.
  Wait wait() const {
    for (int attempt = 0; attempt < 4; ++attempt) {
      const auto before = wait_version_.load(std::memory_order_acquire);
      if (before & 1U) continue;
      Wait w{waiting_on_.load(std::memory_order_relaxed),
             wait_kind_.load(std::memory_order_relaxed),
             waiting_since_us_.load(std::memory_order_relaxed)};
      std::atomic_thread_fence(std::memory_order_acquire);
      if (wait_version_.load(std::memory_order_relaxed) == before) return w;
    }
    return {};
  }

 private:
  std::atomic<std::uint32_t> wait_version_{0};
  std::atomic<const char*> waiting_on_{nullptr};
  std::atomic<WaitKind> wait_kind_{WaitKind::kBounded};
  std::atomic<std::int64_t> waiting_since_us_{0};
};

// A copy of one entry at snapshot time; durations are relative to the snapshot's now.
struct TaskInfo {
  TaskId id = 0;
  std::string name;
  std::string group;
  std::string spawn_site;
  bool daemon = false;
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
