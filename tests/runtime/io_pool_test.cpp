#include "runtime/io_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_name.hpp"

namespace castellan::runtime {
namespace {

// The names of the threads that ran `n` handlers posted to `executor`.
std::set<std::string> threads_running(const boost::asio::any_io_executor& executor, int n) {
  std::vector<std::future<std::string>> names;
  for (int i = 0; i < n; ++i) {
    auto done = std::make_shared<std::promise<std::string>>();
    names.push_back(done->get_future());
    boost::asio::post(executor, [done] { done->set_value(this_thread_name()); });
  }
  std::set<std::string> seen;
  for (auto& name : names) seen.insert(name.get());
  return seen;
}

TEST(IoPool, EachExecutorIsServedByItsOwnThreadAlone) {
  IoPool pool(3);
  const auto executors = pool.executors();
  ASSERT_EQ(executors.size(), 3u);
  for (std::size_t i = 0; i < executors.size(); ++i) {
    EXPECT_EQ(threads_running(executors[i], 200), std::set<std::string>{"io-" + std::to_string(i)});
  }
  EXPECT_EQ(threads_running(pool.executor(), 200), std::set<std::string>{"io-0"});
}

TEST(IoPool, StopEndsEveryThread) {
  IoPool pool(2);
  const auto executors = pool.executors();
  std::vector<std::future<bool>> ran;
  for (const auto& executor : executors) {
    auto done = std::make_shared<std::promise<bool>>();
    ran.push_back(done->get_future());
    boost::asio::post(executor, [&pool, done] { done->set_value(pool.in_worker_thread()); });
  }
  for (auto& r : ran) EXPECT_TRUE(r.get()) << "a handler runs on one of the pool's threads";
  EXPECT_FALSE(pool.in_worker_thread()) << "the test's own thread is none of them";
  pool.stop();
  pool.join();  // returns: every worker's context stopped
  auto late = std::make_shared<std::atomic<int>>(0);
  for (const auto& executor : executors) boost::asio::post(executor, [late] { ++*late; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(late->load(), 0) << "no thread is left to run a handler";
}

}  // namespace
}  // namespace castellan::runtime
