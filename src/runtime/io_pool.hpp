// IoPool: N io_contexts, each run by one worker thread — one event loop per thread, as nginx
// runs one per worker. A task's handlers (it runs on a strand of one context, see TaskGroup)
// therefore never hop between threads, no worker wakes another to take a handler, and each
// context's scheduler runs with the single-thread fast path. executor() hands out the contexts
// in turn, so spawning many tasks spreads them over the workers. RAII: the destructor stops
// the contexts and joins the threads.
//
// A worker that blocks stalls only its own context's tasks: blocking work belongs on the
// BlockingPool.
//
// Shutdown order: close the TaskGroups first (their tasks need the threads to finish), then
// stop() and join(). Declare the TaskRegistry before the IoPool: destroying an io_context
// destroys any task frame still queued, which unregisters it from the registry.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace castellan::runtime {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // The next worker's executor, round robin.
  boost::asio::any_io_executor executor();
  // One executor per worker, in worker order.
  std::vector<boost::asio::any_io_executor> executors();
  int threads() const { return static_cast<int>(workers_.size()); }

  // Stops every context: handlers still queued are not run (their frames are destroyed when
  // the contexts are). Idempotent.
  void stop();
  // Waits for the worker threads to exit. Idempotent; must not be called from a worker.
  void join();
  // True when the calling thread is one of this pool's workers.
  bool in_worker_thread() const;

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  struct Loop {
    Loop() : context(1), work(boost::asio::make_work_guard(context)) {}
    boost::asio::io_context context;  // concurrency hint 1: run by one thread
    WorkGuard work;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> workers_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace castellan::runtime
