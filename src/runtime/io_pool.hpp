// IoPool: N worker threads, each running an io_context of its own. executor() is the first
// context, for the service's own long-lived tasks; executors() gives one per thread, for work
// that should spread over the threads (API connections): a task spawned on one of them runs
// only on that thread, so its handlers never hop between threads and waking it never wakes
// another (with one context shared by all threads, the API served fewer requests with 2
// threads than with 1; docs/benchmarks.md). Tasks spawned through TaskGroup still get their
// own strand. RAII: the destructor stops the contexts and joins the threads.
//
// Shutdown order: close the TaskGroups first (their tasks need the threads to finish), then
// stop() and join(). Declare the TaskRegistry before the IoPool: destroying an io_context
// destroys any task frame still queued, which unregisters it from the registry.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace castellan::runtime {

class IoPool {
 public:
  // Throws std::system_error, with every thread it started joined, when a thread cannot start.
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  boost::asio::any_io_executor executor() { return contexts_.front()->get_executor(); }
  // One executor per worker thread, in thread order.
  std::vector<boost::asio::any_io_executor> executors();
  int threads() const { return thread_count_; }

  // Stops the contexts: handlers still queued are not run (their frames are destroyed when
  // the contexts are). Idempotent.
  void stop();
  // Waits for the worker threads to exit. Idempotent; must not be called from a worker.
  void join();
  // True when the calling thread is one of this pool's workers.
  bool in_worker_thread() const;

 private:
  int thread_count_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> workers_;
};

}  // namespace castellan::runtime
