#include "runtime/io_pool.hpp"

#include <algorithm>
#include <system_error>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace castellan::runtime {

IoPool::IoPool(int threads) : thread_count_(std::max(1, threads)) {
  for (int i = 0; i < thread_count_; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));  // run by one thread
    work_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
  workers_.reserve(static_cast<std::size_t>(thread_count_));
  try {
    for (int i = 0; i < thread_count_; ++i) {
      workers_.emplace_back([this, i] {
        name_this_thread("io-" + std::to_string(i));
        auto& context = *contexts_[static_cast<std::size_t>(i)];
        for (;;) {
          try {
            context.run();
            return;
          } catch (const std::exception& e) {
            // A handler threw past its coroutine: a bug. Keep the worker alive.
            spdlog::error("io worker: unhandled exception: {}", e.what());
          }
        }
      });
    }
  } catch (const std::system_error& e) {
    // No destructor runs for a constructor that throws: without this, the threads already
    // started would still be joinable when workers_ is destroyed, and that aborts the process.
    stop();
    join();
    throw std::system_error(e.code(), "cannot start io thread " +
                                          std::to_string(workers_.size() + 1) + " of " +
                                          std::to_string(thread_count_) +
                                          " (server.threads; a thread or memory limit?)");
  }
}

IoPool::~IoPool() {
  stop();
  join();
}

std::vector<boost::asio::any_io_executor> IoPool::executors() {
  std::vector<boost::asio::any_io_executor> all;
  for (auto& context : contexts_) all.emplace_back(context->get_executor());
  return all;
}

void IoPool::stop() {
  for (auto& guard : work_) guard.reset();
  for (auto& context : contexts_) context->stop();
}

void IoPool::join() {
  for (auto& t : workers_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
}

bool IoPool::in_worker_thread() const {
  return std::any_of(workers_.begin(), workers_.end(),
                     [](const std::thread& t) { return t.get_id() == std::this_thread::get_id(); });
}

}  // namespace castellan::runtime
