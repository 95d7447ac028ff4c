// TaskEntry: one live task's registry entry, and the kinds of wait it can be in. Split from
// task_registry.hpp so that what a task writes while it runs (wait_marker.hpp, thread_task.hpp)
// needs neither the registry nor std::source_location: the plain-C++ journal and store include
// it, and Debian's clang-tidy 14, which lints them, cannot parse std::source_location.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace castellan::runtime {

using TaskId = std::uint64_t;

// What kind of wait a WaitMarker records. A bounded wait is an operation that should finish
// (it has a deadline): it counts towards blocked p99 and the stuck-task rule. An idle wait is
// waiting for outside input that may never come (next request on a keep-alive connection,
// next MQTT message): it is shown in the task dump but counts towards neither.
enum class WaitKind : std::uint8_t { kBounded, kIdle };

// One live task. Owned by the registry (shared_ptr) and by the task's own frame; the mutable
// fields are atomics written by the task and read by snapshots.
struct TaskEntry {
  TaskId id = 0;
  std::string name;
  std::string group;
  std::string spawn_site;
  bool daemon = false;
  bool thread = false;          // a ThreadTask: its owner, not a TaskGroup, ends it
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

}  // namespace castellan::runtime
