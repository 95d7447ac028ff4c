// TaskGroup: owns a set of running coroutines, like Seastar's gate or userver's
// BackgroundTaskStorage. It is the only place in Castellan that spawns a coroutine without
// awaiting it (co_spawn with a completion handler nobody waits on).
//
//   TaskGroup group(registry, "mqtt");
//   group.spawn(pool.executor(), "mqtt loop", run_loop(), {.daemon = true});
//   group.spawn(pool.executor(), "publisher", [&](TaskRef self) -> awaitable<void> {
//     WaitMarker wait(self, "mqtt publish");
//     co_await ...;
//   });
//   ...
//   co_await group.close();          // or close_blocking(timeout) from a non-io thread
//
// Each child runs on its own strand over the given executor, so cancellation can be delivered
// to it safely from any thread. A child is registered in the TaskRegistry while its frame lives
// and unregistered when the frame is destroyed: on return, on an exception (logged with the
// task's name and spawn site), on cancellation, or when the io_context is destroyed with the
// task still pending.
//
// close() cancels every child (terminal cancellation: the await the child is suspended on
// completes with operation_aborted, and with Asio's default throw_if_cancelled every later
// await throws at once) and waits until all have finished; spawn() after close() is refused.
// Do not close a group from inside one of its own children: it would wait for itself.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <source_location>
#include <span>
#include <string>

#include "runtime/task_registry.hpp"
#include "runtime/wait_marker.hpp"

namespace castellan::runtime {

namespace asio = boost::asio;

class TaskGroup {
 public:
  using Body = std::function<asio::awaitable<void>(TaskRef)>;

  TaskGroup(TaskRegistry& registry, std::string name);
  // Cancels and waits for the children (close_blocking with kDestructorTimeout). Must not run
  // on an io thread that the children need, or it waits out the whole timeout.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  static constexpr std::chrono::milliseconds kDestructorTimeout{5000};

  // Spawns `task` on a new strand of `executor`. Returns the task's id, or 0 when the group
  // is closed (the task is dropped unstarted and a warning is logged).
  TaskId spawn(const asio::any_io_executor& executor, std::string name, asio::awaitable<void> task,
               TaskOptions options = {},
               std::source_location loc = std::source_location::current());

  // Same, for a body that wants its own TaskRef (for WaitMarker). The callable is kept alive
  // until the task ends, so a lambda's captures are safe to use across awaits.
  TaskId spawn(const asio::any_io_executor& executor, std::string name, Body body,
               TaskOptions options = {},
               std::source_location loc = std::source_location::current());

  // Cancels the current children without closing: the group accepts new tasks afterwards.
  void cancel_all();

  // Closes the group: refuses new tasks, cancels every child and completes when all have
  // finished. Safe to call more than once.
  asio::awaitable<void> close();

  // The same from a thread that is not needed by the children. Returns false (and logs the
  // children still alive with their spawn sites) when they did not all finish in `timeout`.
  bool close_blocking(std::chrono::milliseconds timeout);

  std::size_t size() const;
  bool closed() const;
  const std::string& name() const;

  struct State;  // shared with the children's frames

 private:
  std::shared_ptr<State> state_;
};

// Closes groups one after the other (the order of shutdown: e.g. API, then devices, then the
// journal flusher), each with `timeout_each`. Returns true when every group closed in time
// and the registry then holds no task but threads of their own (ThreadTask), which their
// owners end afterwards.
bool close_in_order(std::span<TaskGroup* const> groups, const TaskRegistry& registry,
                    std::chrono::milliseconds timeout_each);

}  // namespace castellan::runtime
