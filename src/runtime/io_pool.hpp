// IoPool: one io_context run by N worker threads. Tasks spawned through TaskGroup get their
// own strand over executor(), so sharing one context between threads is safe and balances
// load. RAII: the destructor stops the context and joins the threads.
//
// Shutdown order: close the TaskGroups first (their tasks need the threads to finish), then
// stop() and join(). Declare the TaskRegistry before the IoPool: destroying the io_context
// destroys any task frame still queued, which unregisters it from the registry.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>
#include <vector>

namespace castellan::runtime {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  boost::asio::any_io_executor executor() { return context_.get_executor(); }
  boost::asio::io_context& context() { return context_; }
  int threads() const { return thread_count_; }

  // Stops the context: handlers still queued are not run (their frames are destroyed when the
  // context is). Idempotent.
  void stop();
  // Waits for the worker threads to exit. Idempotent; must not be called from a worker.
  void join();
  // True when the calling thread is one of this pool's workers.
  bool in_worker_thread() const;

 private:
  int thread_count_;
  boost::asio::io_context context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> workers_;
};

}  // namespace castellan::runtime
