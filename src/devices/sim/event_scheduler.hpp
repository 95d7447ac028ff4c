// A single thread that runs timed callbacks in due order (heartbeats, telemetry, door state
// follow-ups). Times come from the injected Clock's monotonic time.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "core/clock.hpp"

namespace castellan::devices::sim {

class EventScheduler {
 public:
  using Task = std::function<void()>;
  explicit EventScheduler(const Clock& clock) : clock_(clock) {}
  ~EventScheduler() { stop(); }
  EventScheduler(const EventScheduler&) = delete;
  EventScheduler& operator=(const EventScheduler&) = delete;

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Drops every task not yet run and joins the thread. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void at(Clock::Monotonic when, Task task) {
    {
      std::lock_guard lock(mu_);
      queue_.push(Entry{when, seq_++, std::move(task)});
    }
    cv_.notify_all();
  }
  void after(std::chrono::microseconds delay, Task task) {
    at(clock_.monotonic() + delay, std::move(task));
  }

 private:
  struct Entry {
    Clock::Monotonic when;
    std::uint64_t seq;  // FIFO among equal times
    Task task;
    bool operator>(const Entry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };

  void run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto now = clock_.monotonic();
      if (queue_.top().when > now) {
        // Re-check at most every 50 ms so a FakeClock moved by a test is noticed.
        auto wait = std::min<std::chrono::steady_clock::duration>(queue_.top().when - now,
                                                                  std::chrono::milliseconds(50));
        cv_.wait_for(lock, wait);
        continue;
      }
      Task task = std::move(const_cast<Entry&>(queue_.top()).task);
      queue_.pop();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace castellan::devices::sim
