// StoreProbe: whether the store answers, for /readyz, without asking it on the caller's thread.
// /readyz is served on an io thread, and a store query can wait up to SQLite's busy timeout (5 s)
// for a lock (a long write, another process holding the file): asking there froze the API's
// accept loop, /metrics and the device ticker for as long. A thread of its own asks instead,
// every `interval`; up() reads what it found. A question that has not come back within three
// intervals reads as down: a store that cannot answer in that time is not ready either.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace castellan::runtime {
class TaskRegistry;
}

namespace castellan::store {

class StoreProbe {
 public:
  StoreProbe(Store& store, const Clock& clock, std::chrono::milliseconds interval,
             runtime::TaskRegistry* tasks = nullptr);  // its thread's daemon task
  ~StoreProbe();
  StoreProbe(const StoreProbe&) = delete;
  StoreProbe& operator=(const StoreProbe&) = delete;

  // From any thread, at once.
  bool up() const;

 private:
  Store& store_;
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  std::atomic<bool> answered_ok_{false};
  std::atomic<std::int64_t> asked_at_us_{0};     // monotonic µs when the current question began
  std::atomic<std::int64_t> answered_at_us_{0};  // … when the last one came back (0: never)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace castellan::store
