// Helpers for the runtime tests: run a coroutine to completion from the test thread, and wait
// for a condition that other threads make true (polling; never a timing assertion).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "core/clock.hpp"
#include "runtime/io_pool.hpp"

namespace castellan::runtime::testing {

template <class T>
T run_sync(IoPool& pool, boost::asio::awaitable<T> task) {
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(pool.executor(), std::move(task), boost::asio::use_future).get();
  } else {
    // co_spawn's future needs a default-constructible value; Result<T> is not.
    auto wrap = [](boost::asio::awaitable<T> t) -> boost::asio::awaitable<std::optional<T>> {
      co_return co_await std::move(t);
    };
    return *boost::asio::co_spawn(pool.executor(), wrap(std::move(task)), boost::asio::use_future)
                .get();
  }
}

// Polls `done` until true or `limit` passes; returns its last value. The limit only keeps a
// broken test from hanging: tests assert on the condition, not on how long it took.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto& clock = SystemClock::instance();
  const auto until = clock.monotonic() + limit;
  while (!done()) {
    if (clock.monotonic() > until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace castellan::runtime::testing
