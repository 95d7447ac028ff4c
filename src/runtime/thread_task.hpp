// ThreadTask: a long-lived thread of its own (the journal's syncer and flusher, the MQTT
// network loop, the pass-use flusher) in the task registry as a daemon task, so that
// /v1/debug/tasks, the SLIs and the stuck-task rule see it like every coroutine task (contract
// §7: "every long-lived asynchronous task … MQTT loop, … journal flusher"). Made at the top of
// the thread's function, removed when it returns. Its ref() feeds WaitMarkers, so that a thread
// stuck in a bounded wait (an fdatasync that never returns) is reported as stuck, with what it
// waits on. Without a registry (unit tests, benchmarks, tools) it is a no-op.
//
// Asio-free, like task_registry.hpp and wait_marker.hpp: the plain-C++ modules (journal, store)
// use it through the small castellan_tasks library.
#pragma once

#include <memory>
#include <source_location>
#include <string>

#include "runtime/task_registry.hpp"
#include "runtime/wait_marker.hpp"

namespace castellan::runtime {

class ThreadTask {
 public:
  ThreadTask(TaskRegistry* registry, std::string name, std::string group,
             const std::source_location& loc = std::source_location::current())
      : registry_(registry) {
    if (registry_) {
      entry_ = registry_->add(std::move(name), std::move(group), loc, TaskOptions{.daemon = true});
    }
  }
  ~ThreadTask() {
    if (entry_) registry_->remove(entry_->id);
  }
  ThreadTask(const ThreadTask&) = delete;
  ThreadTask& operator=(const ThreadTask&) = delete;

  TaskRef ref() const { return entry_ ? TaskRef(entry_.get(), &registry_->clock()) : TaskRef(); }

 private:
  TaskRegistry* registry_;
  std::shared_ptr<TaskEntry> entry_;
};

}  // namespace castellan::runtime
