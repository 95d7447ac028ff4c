// IoPool: one io_context per worker thread. A handler posted to one of its executors always
// runs on that executor's own thread, and executor() hands the workers out in turn.
#include "runtime/io_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <set>
#include <thread>

namespace castellan::runtime {
namespace {

namespace asio = boost::asio;

std::thread::id thread_of(const asio::any_io_executor& executor) {
  return asio::post(executor, asio::use_future([] { return std::this_thread::get_id(); })).get();
}

TEST(IoPool, EachExecutorRunsOnItsOwnThreadAlways) {
  IoPool pool(3);
  ASSERT_EQ(pool.threads(), 3);
  const auto executors = pool.executors();
  ASSERT_EQ(executors.size(), 3u);
  std::set<std::thread::id> threads;
  for (const auto& executor : executors) {
    const auto first = thread_of(executor);
    EXPECT_NE(first, std::this_thread::get_id());
    for (int i = 0; i < 20; ++i) EXPECT_EQ(thread_of(executor), first);
    threads.insert(first);
    EXPECT_FALSE(pool.in_worker_thread());
    EXPECT_TRUE(
        asio::post(executor, asio::use_future([&pool] { return pool.in_worker_thread(); })).get());
  }
  EXPECT_EQ(threads.size(), 3u) << "one thread per executor";
}

TEST(IoPool, ExecutorHandsTheWorkersOutInTurn) {
  IoPool pool(2);
  const auto a = thread_of(pool.executor());
  const auto b = thread_of(pool.executor());
  const auto c = thread_of(pool.executor());
  EXPECT_NE(a, b);
  EXPECT_EQ(a, c);
}

TEST(IoPool, StopLeavesQueuedHandlersUnrunAndJoinReturns) {
  IoPool pool(2);
  std::atomic<int> ran{0};
  std::promise<void> release;
  auto gate = release.get_future().share();
  const auto executor = pool.executors()[0];
  asio::post(executor, [gate] { gate.wait(); });  // holds worker 0
  for (int i = 0; i < 10; ++i) asio::post(executor, [&ran] { ran.fetch_add(1); });
  pool.stop();
  release.set_value();
  pool.join();
  EXPECT_EQ(ran.load(), 0);
  pool.join();  // idempotent
}

}  // namespace
}  // namespace castellan::runtime
