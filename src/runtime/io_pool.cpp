#include "runtime/io_pool.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace castellan::runtime {

IoPool::IoPool(int threads)
    : thread_count_(std::max(1, threads)),
      context_(thread_count_),
      work_(boost::asio::make_work_guard(context_)) {
  workers_.reserve(static_cast<std::size_t>(thread_count_));
  for (int i = 0; i < thread_count_; ++i) {
    workers_.emplace_back([this, i] {
      name_this_thread("io-" + std::to_string(i));
      for (;;) {
        try {
          context_.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw past its coroutine: a bug. Keep the worker alive.
          spdlog::error("io worker: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

IoPool::~IoPool() {
  stop();
  join();
}

void IoPool::stop() {
  work_.reset();
  context_.stop();
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
