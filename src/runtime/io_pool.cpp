#include "runtime/io_pool.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace castellan::runtime {

IoPool::IoPool(int threads) {
  const auto count = static_cast<std::size_t>(std::max(1, threads));
  loops_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) loops_.push_back(std::make_unique<Loop>());
  workers_.reserve(count);
  for (auto& loop : loops_) {
    workers_.emplace_back([&context = loop->context] {
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
}

IoPool::~IoPool() {
  stop();
  join();
}

boost::asio::any_io_executor IoPool::executor() {
  const auto i = next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
  return loops_[i]->context.get_executor();
}

std::vector<boost::asio::any_io_executor> IoPool::executors() {
  std::vector<boost::asio::any_io_executor> all;
  for (auto& loop : loops_) all.push_back(loop->context.get_executor());
  return all;
}

void IoPool::stop() {
  for (auto& loop : loops_) {
    loop->work.reset();
    loop->context.stop();
  }
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
