// FaultInjector: deliberate leaks for chaos tests and POST /v1/debug/faults (only with
// [debug] fault_injection = true; the API checks the flag). `stall_journal` belongs to the
// journal, not here.
//
//   leak_tasks(N)  spawns N registered non-daemon tasks that wait until clear();
//   leak_fds(N)    opens N fds on /dev/null, held until clear();
//   stuck_task(ms) spawns one task that sits inside one bounded WaitMarker ("fault: stuck
//                  await") for `ms` milliseconds of real time (or until clear()).
//
// The spawn site recorded for the leaked tasks is the caller's (a std::source_location
// default argument), so the leak report points at whoever asked for the fault.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <mutex>
#include <source_location>
#include <vector>

#include "runtime/task_group.hpp"

namespace castellan::runtime {

class FaultInjector {
 public:
  FaultInjector(TaskRegistry& registry, boost::asio::any_io_executor executor);
  // Clears and waits for the fault tasks.
  ~FaultInjector();
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Returns how many were spawned/opened (fewer when the process runs out of fds).
  int leak_tasks(int count, std::source_location loc = std::source_location::current());
  int leak_fds(int count);
  void stuck_task(std::chrono::milliseconds duration,
                  std::source_location loc = std::source_location::current());

  // Cancels the fault tasks (they finish asynchronously) and closes the fds.
  void clear();

  std::size_t leaked_tasks() const { return group_.size(); }
  std::size_t leaked_fds() const;

 private:
  boost::asio::any_io_executor executor_;
  TaskGroup group_;
  mutable std::mutex mu_;
  std::vector<int> fds_;
};

}  // namespace castellan::runtime
