// ThreadTask: a long-lived thread of its own (the journal's syncer and flusher, the MQTT
// network loop, the pass-use flusher) in the task registry as a daemon task, so that
// /v1/debug/tasks, the SLIs and the stuck-task rule see it like every coroutine task (contract
// §7: "every long-lived asynchronous task … MQTT loop, … journal flusher"). Made at the top of
// the thread's function, removed when it returns. Its ref() feeds WaitMarkers, so that a thread
// stuck in a bounded wait (an fdatasync that never returns) is reported as stuck, with what it
// waits on. Without a registry (unit tests, benchmarks, tools) it is a no-op.
//
// Asio-free and free of std::source_location (the spawn site comes from the compiler's
// __builtin_FILE/LINE/FUNCTION), like task_entry.hpp and wait_marker.hpp: the plain-C++
// modules (journal, store) use it through the small castellan_tasks library.
#pragma once

#include <memory>
#include <string>

#include "runtime/task_entry.hpp"
#include "runtime/wait_marker.hpp"

namespace castellan::runtime {

class TaskRegistry;

class ThreadTask {
 public:
  ThreadTask(TaskRegistry* registry, std::string name, std::string group,
             const char* file = __builtin_FILE(), int line = __builtin_LINE(),
             const char* function = __builtin_FUNCTION());
  ~ThreadTask();
  ThreadTask(const ThreadTask&) = delete;
  ThreadTask& operator=(const ThreadTask&) = delete;

  TaskRef ref() const { return entry_ ? TaskRef(entry_.get(), clock_) : TaskRef(); }

 private:
  TaskRegistry* registry_;
  std::shared_ptr<TaskEntry> entry_;
  const Clock* clock_ = nullptr;
};

}  // namespace castellan::runtime
